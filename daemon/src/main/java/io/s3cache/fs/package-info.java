/**
 * Filesystem logic: a bucket prefix presented as a file tree ({@link io.s3cache.fs.S3Filesystem},
 * built with {@link io.s3cache.fs.S3Filesystem#builder}), the path-to-key mapping and metadata
 * cache behind it, the read path ({@code ObjectReads}, {@code ReadHandle}) and on a writable mount
 * the write path ({@code Writes} and its parts, reached through {@code StageHandle}). Opens and
 * readers' own S3 fetches are reported to a {@link io.s3cache.fs.ReadObserver} (the mount's epoch
 * plan). Implements the FUSE port; no jnr types.
 */
package io.s3cache.fs;
