package io.s3cache.fs;

import io.s3cache.fuse.FileAttributes;
import io.s3cache.fuse.FsException;
import io.s3cache.fuse.OpenFile;
import io.s3cache.readahead.ReadAheadState;
import io.s3cache.s3.ObjectMeta;
import java.nio.ByteBuffer;

/**
 * A handle on one version of an S3 object (its ETag pinned at open): every read asks the block
 * cache for blocks of that version, so the handle never mixes bytes of two versions.
 *
 * @param readAhead null when read-ahead is off
 * @param pageCached whether the handle reads through the kernel's page cache (else direct_io)
 * @param keepPageCache whether the kernel may keep the pages an earlier open cached
 */
record ReadHandle(long id, String path, ObjectMeta meta, ReadAheadState readAhead, boolean pageCached,
    boolean keepPageCache, ObjectReads reads, Attributes attributes) implements OpenHandle {

  /** What open returns to the kernel for this handle. */
  OpenFile openFile() {
    return new OpenFile(id, keepPageCache, !pageCached);
  }

  @Override
  public int read(long offset, ByteBuffer dst) throws FsException {
    if (readAhead != null) {
      readAhead.onRead(offset, dst.remaining()); // starts fetches ahead; never blocks
    }
    return reads.read(path, meta, offset, dst);
  }

  @Override
  public int write(long offset, ByteBuffer src) throws FsException {
    throw OpenHandle.notWritable(id);
  }

  @Override
  public void flush() {}

  @Override
  public void fsync() {}

  @Override
  public boolean truncate(long size) {
    return false;
  }

  @Override
  public FileAttributes stat() throws FsException {
    return attributes.of(path, new Node.File(meta));
  }

  @Override
  public void release() {
    reads.release(this);
  }
}
