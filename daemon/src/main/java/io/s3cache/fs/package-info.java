/**
 * Filesystem logic: a bucket prefix presented as a read-only tree ({@link io.s3cache.fs.S3Filesystem}),
 * the path-to-key mapping and metadata cache behind it. Implements the FUSE port; no jnr types.
 */
package io.s3cache.fs;
