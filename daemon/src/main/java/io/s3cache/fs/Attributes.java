package io.s3cache.fs;

import io.s3cache.fuse.FileAttributes;
import io.s3cache.fuse.FsException;
import io.s3cache.write.WriteStage;

/** The stat of a mount's nodes: sizes and times from S3 or the stage, modes and owner from the config. */
final class Attributes {

  private final FsConfig config;

  Attributes(FsConfig config) {
    this.config = config;
  }

  /** An object or directory; ENOENT for an absent node. */
  FileAttributes of(String path, Node node) throws FsException {
    if (node instanceof Node.File f) {
      return new FileAttributes(FileAttributes.Type.FILE, f.meta().size(), f.meta().lastModified(),
          config.fileMode(), config.uid(), config.gid(), inode(path));
    }
    if (node instanceof Node.Directory d) {
      return new FileAttributes(FileAttributes.Type.DIRECTORY, 0, d.mtime(), config.dirMode(),
          config.uid(), config.gid(), inode(path));
    }
    throw FsException.notFound(path);
  }

  /** A staged file: its size and time are the stage's, not S3's. */
  FileAttributes staged(String path, WriteStage s) {
    return new FileAttributes(FileAttributes.Type.FILE, s.size(), s.mtime(), config.fileMode(), config.uid(),
        config.gid(), inode(path));
  }

  /** A stable 64-bit FNV-1a hash of the path; the root is 1 as FUSE expects. */
  static long inode(String path) {
    if (path.equals("/")) {
      return 1;
    }
    long h = 0xcbf29ce484222325L;
    for (int i = 0; i < path.length(); i++) {
      h ^= path.charAt(i);
      h *= 0x100000001b3L;
    }
    h &= Long.MAX_VALUE;
    return h <= 1 ? h + 2 : h; // 0 is not an inode and 1 is the root's
  }
}
