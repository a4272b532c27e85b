/**
 * Filesystem logic: a bucket prefix presented as a file tree ({@link io.s3cache.fs.S3Filesystem}),
 * the path-to-key mapping and metadata cache behind it ({@code Namespace}, {@code MetadataCache}).
 * On a writable mount, writes, uploads and namespace changes go to {@link io.s3cache.write}.
 * Implements the FUSE port; no jnr types.
 */
package io.s3cache.fs;
