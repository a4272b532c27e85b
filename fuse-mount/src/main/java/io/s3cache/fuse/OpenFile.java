package io.s3cache.fuse;

/**
 * The result of open.
 *
 * @param handle the filesystem's handle, passed back on read and release
 * @param keepPageCache true when the kernel may keep pages it cached for an earlier open of the same
 *     file (the file has not changed since)
 */
public record OpenFile(long handle, boolean keepPageCache) {}
