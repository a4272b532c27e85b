package io.s3cache.fs;

import io.s3cache.fuse.Errno;
import io.s3cache.fuse.FileAttributes;
import io.s3cache.fuse.FsException;
import java.nio.ByteBuffer;

/**
 * What one FUSE file handle of {@link S3Filesystem} stands for: a {@link ReadHandle} on one version
 * of an S3 object, or a {@link StageHandle} on a staged (written) file. Each answers every
 * handle operation itself; those it cannot do fail as the port expects.
 */
sealed interface OpenHandle permits ReadHandle, StageHandle {

  /** The handle number the kernel passes back. */
  long id();

  /** read(2) at {@code offset} (not negative): fewer bytes than asked only at end of file. */
  int read(long offset, ByteBuffer dst) throws FsException;

  /** write(2); EBADF unless the handle was opened for writing. */
  int write(long offset, ByteBuffer src) throws FsException;

  /** close(2) of one descriptor: uploads what a writer wrote; nothing for a reader. */
  void flush() throws FsException;

  /** fsync(2). */
  void fsync() throws FsException;

  /** ftruncate(2): truncates and returns true when the handle is open for writing, else false. */
  boolean truncate(long size) throws FsException;

  /** fstat(2) by handle (the file may have been unlinked). */
  FileAttributes stat() throws FsException;

  /** The last close: frees what the handle holds. */
  void release();

  static FsException notWritable(long id) {
    return new FsException(Errno.EBADF, "handle " + id + " is not open for writing");
  }
}
