/**
 * Filesystem logic: a bucket prefix presented as a file tree ({@link io.s3cache.fs.S3Filesystem},
 * built with {@link io.s3cache.fs.S3Filesystem#builder}), the path-to-key mapping and metadata
 * cache behind it ({@code Namespace}, {@code MetadataCache}) and the read path ({@code
 * ObjectReads}, {@code ReadHandle}). On a writable mount, writes, uploads and namespace changes go
 * to {@link io.s3cache.write}, reached through {@code StageHandle}. Opens and readers' own S3
 * fetches are reported to a {@link io.s3cache.fs.ReadObserver} (the mount's epoch plan).
 * Implements the FUSE port; no jnr types.
 */
package io.s3cache.fs;
