package io.s3cache.fs;

import io.s3cache.fuse.Errno;
import io.s3cache.fuse.FileAttributes;
import io.s3cache.fuse.FsException;
import io.s3cache.write.WritePath;
import io.s3cache.write.WriteStage;
import java.nio.ByteBuffer;

/**
 * A handle on a staged file (see {@link WritePath}): what was written is read from the stage, the rest
 * from the object it replaces.
 *
 * @param writable false when opened read-only (a reader of a file someone is writing)
 */
record StageHandle(long id, WriteStage stage, boolean writable, WritePath writes, ObjectReads reads,
    Attributes attributes) implements OpenHandle {

  @Override
  public int read(long offset, ByteBuffer dst) throws FsException {
    WriteStage s = stage;
    s.readLock().lock();
    try {
      Integer n = writes.read(s, offset, dst);
      if (n != null) {
        reads.countBytes(n);
        return n;
      }
      return reads.read(s.path(), s.base(), offset, dst); // opened for writing, nothing written yet
    } finally {
      s.readLock().unlock();
    }
  }

  @Override
  public int write(long offset, ByteBuffer src) throws FsException {
    if (!writable) {
      throw OpenHandle.notWritable(id);
    }
    if (offset < 0) {
      throw new FsException(Errno.EINVAL, "negative offset " + offset);
    }
    return writes.write(stage, offset, src);
  }

  /** Only a writer's close uploads: a reader's close never fails over an upload it did not ask for. */
  @Override
  public void flush() throws FsException {
    if (writable) {
      writes.flush(stage, false);
    }
  }

  @Override
  public void fsync() throws FsException {
    writes.flush(stage, true);
  }

  /** Uploaded at its close, like a write. */
  @Override
  public boolean truncate(long size) throws FsException {
    if (!writable) {
      return false;
    }
    writes.truncate(stage, size);
    return true;
  }

  @Override
  public FileAttributes stat() {
    return attributes.staged(stage.path(), stage);
  }

  @Override
  public void release() {
    writes.release(stage);
  }
}
