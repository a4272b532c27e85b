package io.s3cache.fuse;

/**
 * The result of open.
 *
 * @param handle the filesystem's handle, passed back on read and release
 * @param keepPageCache true when the kernel may keep pages it cached for an earlier open of the same
 *     file (the file has not changed since)
 * @param directIo true when this handle's reads must bypass the kernel's page cache (which holds
 *     pages of another version of the file, read through handles still open)
 */
public record OpenFile(long handle, boolean keepPageCache, boolean directIo) {

  /** A handle that reads through the kernel's page cache. */
  public OpenFile(long handle, boolean keepPageCache) {
    this(handle, keepPageCache, false);
  }
}
