package io.s3cache.write;

import com.codahale.metrics.Counter;
import com.codahale.metrics.MetricRegistry;
import io.s3cache.cache.BlockCache;
import io.s3cache.cache.BlockKey;
import io.s3cache.fs.FsConfig;
import io.s3cache.fuse.Errno;
import io.s3cache.fuse.FsException;
import io.s3cache.metrics.MetricNames;
import io.s3cache.s3.ObjectClientException;
import io.s3cache.s3.ObjectMeta;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;

/**
 * The bytes of stages on the cache disk: creating a stage's staged file, writes into it (reported
 * to the stage's streaming upload), reads from it, truncates, and the first copy of an existing
 * object that a write into it needs. A full cache disk becomes ENOSPC (counted in {@code
 * write.staging.nospace}), any other I/O error EIO; a failed write marks the stage so that it is
 * never uploaded.
 *
 * <p>Concurrency: called on FUSE threads. A write holds the stage's read lock (positional writes
 * run concurrently); truncate and the copy of the object hold its write lock; a read holds none.
 * Every change bumps the stage's generation first, so a running cache fill sees it. No other lock
 * is taken here, except the streaming upload's own monitor (a leaf) and the journal's.
 */
final class StageIo {

  private final FsConfig fs;
  private final WriteConfig config;
  private final NamespacePort ns;
  private final BlockCache blocks;
  private final StagingArea area;
  private final CloseUploads uploads;
  private final Counter noSpace;

  StageIo(FsConfig fs, WriteConfig config, NamespacePort ns, BlockCache blocks, StagingArea area, CloseUploads uploads,
      MetricRegistry metrics) {
    this.fs = fs;
    this.config = config;
    this.ns = ns;
    this.blocks = blocks;
    this.area = area;
    this.uploads = uploads;
    this.noSpace = metrics.counter(MetricNames.STAGING_NOSPACE);
  }

  int write(WriteStage s, long offset, ByteBuffer src) throws FsException {
    if (s.file == null) {
      s.lock.writeLock().lock();
      try {
        copyBase(s);
      } finally {
        s.lock.writeLock().unlock();
      }
    }
    s.lock.readLock().lock();
    try {
      s.checkUsable();
      int n = src.remaining();
      area.ensureRoom(n);
      s.generation.incrementAndGet();
      journalOpen(s); // before the bytes change: a crash from here on must not upload them
      try {
        s.file.write(offset, src);
      } catch (IOException e) {
        throw writeFailed(s, "write", e);
      }
      markDirty(s);
      StreamingUpload st = uploads.streamOf(s, offset);
      if (st != null) {
        st.written(offset, n);
      }
      return n;
    } finally {
      s.lock.readLock().unlock();
    }
  }

  /** Reads from the staged bytes; null when the stage holds no copy yet (read {@code s.base}). */
  Integer read(WriteStage s, long offset, ByteBuffer dst) throws FsException {
    StagedFile f = s.file;
    if (f == null) {
      return null;
    }
    try {
      return f.read(offset, dst);
    } catch (IOException e) {
      throw new FsException(Errno.EIO, FsException.Level.WARN, "read of staged " + s.path + ": " + e, e);
    }
  }

  void truncate(WriteStage s, long size) throws FsException {
    if (size < 0) {
      throw new FsException(Errno.EINVAL, "negative size " + size);
    }
    s.lock.writeLock().lock();
    try {
      s.checkUsable();
      s.generation.incrementAndGet();
      s.stopStream("truncated");
      if (s.file == null) {
        if (size == 0) {
          s.file = newStagedFile(s.path);
          s.base = null;
          markDirty(s);
          return;
        }
        copyBase(s);
      }
      if (s.file.length() != size) {
        area.ensureRoom(Math.max(0, size - s.file.length()));
        journalOpen(s);
        s.file.setLength(size);
        markDirty(s);
      } else if (size == 0 && s.inS3) {
        markDirty(s); // O_TRUNC of an existing object: S3 gets the empty file
      }
    } catch (IOException e) {
      throw writeFailed(s, "truncate", e);
    } finally {
      s.lock.writeLock().unlock();
    }
  }

  /** A new, empty staged file for {@code path}. */
  StagedFile newStagedFile(String path) throws FsException {
    try {
      return area.create(fs.bucket(), ns.key(path));
    } catch (IOException e) {
      throw cannotStage(path, e);
    }
  }

  /** Copies the object the stage started from into a staged file (append or write into it). Locked. */
  private void copyBase(WriteStage s) throws FsException {
    if (s.file != null) {
      return;
    }
    ObjectMeta base = s.base;
    if (base.size() > config.copyMax()) {
      throw new FsException(Errno.EFBIG, FsException.Level.INFO, "writing into the existing " + s.path + " ("
          + base.size() + " bytes) needs a staged copy of it, larger than write_copy_max (" + config.copyMax()
          + " bytes); overwrite it (O_TRUNC) or raise write_copy_max", null);
    }
    StagedFile f = newStagedFile(s.path);
    int blockSize = blocks.blockSize();
    try {
      area.ensureRoom(base.size());
      for (long index = 0; index * blockSize < base.size(); index++) {
        int len = (int) Math.min(blockSize, base.size() - index * blockSize);
        ByteBuffer block = blocks.get(new BlockKey(fs.bucket(), base.key(), base.etag(), index), len);
        f.write(index * blockSize, block);
      }
    } catch (IOException e) {
      f.delete();
      if (e instanceof ObjectClientException oce) {
        throw ns.s3Failed("copy for writing", s.path, oce);
      }
      throw cannotStage(s.path, e);
    }
    s.file = f;
    s.base = null;
  }

  private FsException cannotStage(String path, IOException e) {
    if (isNoSpace(e)) {
      noSpace.inc();
      return new FsException(Errno.ENOSPC, FsException.Level.WARN, "cannot stage " + path + ": the cache disk is full", e);
    }
    return new FsException(Errno.EIO, FsException.Level.WARN, "cannot stage " + path + ": " + e, e);
  }

  /** Records OPEN in the journal if it says otherwise (a closed file written again). */
  private void journalOpen(WriteStage s) throws FsException {
    StagedFile f = s.file;
    if (f != null && f.state() != StagedFile.State.OPEN) {
      try {
        f.record(f.key(), StagedFile.State.OPEN);
      } catch (IOException e) {
        throw writeFailed(s, "journal", e);
      }
    }
  }

  private void markDirty(WriteStage s) throws FsException {
    s.touched = true;
    s.mtime = Instant.now();
    s.dirty = true;
    journalOpen(s);
  }

  private FsException writeFailed(WriteStage s, String op, IOException e) {
    boolean full = isNoSpace(e);
    s.failure = (full ? "the cache disk is full" : e.toString());
    if (full) {
      noSpace.inc();
      return new FsException(Errno.ENOSPC, FsException.Level.WARN, op + " " + s.path + ": the cache disk ("
          + area.dir() + ") is full", e);
    }
    return new FsException(Errno.EIO, FsException.Level.WARN, op + " " + s.path + ": " + e, e);
  }

  private static boolean isNoSpace(IOException e) {
    String m = String.valueOf(e.getMessage());
    return m.contains("No space left on device") || m.contains("Disk quota exceeded");
  }
}
