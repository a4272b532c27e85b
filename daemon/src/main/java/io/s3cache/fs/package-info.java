/**
 * Filesystem logic: a bucket prefix presented as a file tree ({@link io.s3cache.fs.S3Filesystem}),
 * the path-to-key mapping and metadata cache behind it, and on a writable mount the write path
 * ({@code WritePath} and its parts). Implements the FUSE port; no jnr types.
 */
package io.s3cache.fs;
