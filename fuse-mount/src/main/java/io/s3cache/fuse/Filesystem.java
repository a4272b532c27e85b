package io.s3cache.fuse;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * The filesystem port: what a FUSE mount asks of s3cache, with no native types. Paths are absolute
 * within the mount ("/", "/a/b"). Every failure is an {@link FsException} carrying its errno.
 *
 * <p>Write operations default to EROFS; a writable implementation overrides them.
 */
public interface Filesystem {

  FileAttributes getattr(String path) throws FsException;

  /**
   * fstat(2) of an open handle; {@code path} is null when the file was unlinked while open (a
   * writable mount sets hard_remove, so such files keep working by handle).
   */
  default FileAttributes fgetattr(long handle, String path) throws FsException {
    if (path == null) {
      throw new FsException(Errno.ENOENT, "handle " + handle + " has no path");
    }
    return getattr(path);
  }

  /** Every entry of a directory, without "." and "..". */
  List<DirEntry> readdir(String path) throws FsException;

  /** Opens a file with the open(2) {@code flags}. */
  OpenFile open(String path, OpenFlags flags) throws FsException;

  /**
   * Reads up to {@code dst.remaining()} bytes at {@code offset} into {@code dst}. Returns the bytes
   * read: fewer than asked only at end of file.
   */
  int read(long handle, long offset, ByteBuffer dst) throws FsException;

  void release(long handle) throws FsException;

  FsStatistics statfs(String path) throws FsException;

  /** The value of one extended attribute; ENODATA when the node has no such attribute. */
  byte[] getxattr(String path, String name) throws FsException;

  List<String> listxattr(String path) throws FsException;

  /** Creates (or, without O_EXCL, opens) a file and opens it with the open(2) {@code flags}. */
  default OpenFile create(String path, OpenFlags flags, int mode) throws FsException {
    throw FsException.readOnly("create", path);
  }

  /** close(2) of one descriptor of the handle: its failure is what close returns. */
  default void flush(long handle) throws FsException {}

  /**
   * Whether {@link #flush} does anything on this filesystem. False where no handle can hold
   * unwritten data (a read-only mount): the adapter then answers the kernel's first flush with
   * ENOSYS, and the kernel sends no more for the mount, so a close(2) no longer waits for a round
   * trip to the daemon (one of the five per small file a reader opens, reads and closes). The
   * kernel's choice lasts as long as the mount: the answer must not change while mounted.
   */
  default boolean flushes() {
    return true;
  }

  /** fsync(2)/fdatasync(2) of the handle. */
  default void fsync(long handle) throws FsException {}

  default int write(long handle, long offset, ByteBuffer src) throws FsException {
    throw FsException.readOnly("write", "handle " + handle);
  }

  default void truncate(String path, long size) throws FsException {
    throw FsException.readOnly("truncate", path);
  }

  /** ftruncate(2) of an open handle; {@code path} is null when the file was unlinked while open. */
  default void ftruncate(long handle, String path, long size) throws FsException {
    throw FsException.readOnly("truncate", path == null ? "handle " + handle : path);
  }

  default void mkdir(String path, int mode) throws FsException {
    throw FsException.readOnly("mkdir", path);
  }

  default void unlink(String path) throws FsException {
    throw FsException.readOnly("unlink", path);
  }

  default void rmdir(String path) throws FsException {
    throw FsException.readOnly("rmdir", path);
  }

  default void rename(String from, String to) throws FsException {
    throw FsException.readOnly("rename", from);
  }

  /** chmod, chown, utimens, symlink, link, mknod, setxattr and removexattr. */
  default void changeMetadata(String op, String path) throws FsException {
    throw FsException.readOnly(op, path);
  }
}
