/**
 * The write path's machinery below the filesystem: {@link io.s3cache.write.WriteConfig}, the
 * staging directory under the cache directory with its per-file journal ({@link
 * io.s3cache.write.StagingArea}, {@link io.s3cache.write.StagedFile}) and the {@link
 * io.s3cache.write.ObjectUploader} (single PUT or parallel multipart). What a FUSE write means for a path
 * lives in {@code io.s3cache.fs}.
 */
package io.s3cache.write;
