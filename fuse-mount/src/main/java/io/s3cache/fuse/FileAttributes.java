package io.s3cache.fuse;

import java.time.Instant;

/**
 * What getattr reports for one node.
 *
 * @param inode a stable number for the node within one mount
 * @param permissions the permission bits (e.g. 0444), without the file-type bits
 */
public record FileAttributes(
    Type type, long size, Instant mtime, int permissions, int uid, int gid, long inode) {

  /** Node kinds the port knows. */
  public enum Type {
    FILE,
    DIRECTORY
  }

  public boolean isDirectory() {
    return type == Type.DIRECTORY;
  }
}
