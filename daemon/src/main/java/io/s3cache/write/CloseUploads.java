package io.s3cache.write;

import com.codahale.metrics.Counter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import io.s3cache.cache.BlockCache;
import io.s3cache.cache.BlockKey;
import io.s3cache.fs.FsConfig;
import io.s3cache.fs.Node;
import io.s3cache.fuse.Errno;
import io.s3cache.fuse.FsException;
import io.s3cache.metrics.MetricNames;
import io.s3cache.s3.ObjectClientException;
import io.s3cache.s3.ObjectMeta;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Uploads of staged files to S3, and the cache fill that follows each one: the streaming upload a
 * sequential writer starts ({@link #streamOf}), the upload at close, fsync, rename or recovery
 * ({@link #upload}, {@link #uploadLocked}), then a copy of the uploaded bytes into the block cache
 * ({@link #startFill}) so that reads of the new version need no GET. Owns the upload metrics.
 *
 * <p>Concurrency: an upload runs on the calling thread (a FUSE thread, {@code temp-upload-BUCKET},
 * or the mounting/unmounting thread), under the stage's write lock, across S3 requests; its parts
 * run on the upload executor. It takes {@link WriteStages}'s structure lock under the stage's lock,
 * only to count the fill it leaves. The fill runs on the {@code fills} executor ({@code
 * cache-fill-BUCKET}) with no stage lock: it compares the stage's generation before and after each
 * block instead, and takes the structure lock only to count itself off ({@link WriteStages#fillEnded}).
 */
final class CloseUploads {

  // the write path logs under one name, io.s3cache.write.WritePath (log configs and greps use it)
  private static final Logger LOG = LoggerFactory.getLogger(WritePath.class);

  private final FsConfig fs;
  private final WriteConfig config;
  private final NamespacePort ns;
  private final BlockCache blocks;
  private final ObjectUploader uploader;
  private final Executor fills;
  private final WriteStages table;
  private final KeyLocks keys;
  private final Timer uploads;
  private final Counter uploadBytes;
  private final Counter failures;
  private final Counter earlyParts;

  CloseUploads(FsConfig fs, WriteConfig config, NamespacePort ns, BlockCache blocks, ObjectUploader uploader,
      Executor fills, WriteStages table, KeyLocks keys, MetricRegistry metrics) {
    this.keys = keys;
    this.fs = fs;
    this.config = config;
    this.ns = ns;
    this.blocks = blocks;
    this.uploader = uploader;
    this.fills = fills;
    this.table = table;
    this.uploads = metrics.timer(MetricNames.UPLOADS);
    this.uploadBytes = metrics.counter(MetricNames.UPLOAD_BYTES);
    this.failures = metrics.counter(MetricNames.UPLOAD_FAILURES);
    this.earlyParts = metrics.counter(MetricNames.UPLOAD_PARTS_WHILE_WRITING);
  }

  /**
   * The stage's streaming upload, started at the first write at offset 0 of a file that is not
   * temp-named (those are uploaded at rename, to a key not known yet) and has not been uploaded
   * from this stage yet. Sequential writers of large files (checkpoints) so overlap the upload with
   * the writing; anything else breaks it off and the close uploads the whole file.
   */
  StreamingUpload streamOf(WriteStage s, long offset) {
    StreamingUpload st = s.stream;
    if (st != null || offset != 0) {
      return st;
    }
    synchronized (s) {
      if (!s.streamTried) {
        s.streamTried = true;
        if (!config.isTempName(s.name()) && s.uploaded == null) {
          StagedFile file = s.file;
          s.stream = uploader.streaming(ns.key(s.path), file.path(), id -> journalUpload(file, id));
        }
      }
      return s.stream;
    }
  }

  /** Notes (or clears, with null) a streaming upload's id in the staged file's journal entry. */
  static void journalUpload(StagedFile file, String uploadId) {
    try {
      file.recordUpload(uploadId);
    } catch (java.io.IOException e) {
      LOG.debug("staging: cannot journal the upload {} of {}: {}", uploadId, file, e.toString());
    }
  }

  /**
   * Uploads the stage's bytes to {@code key} (null: to its path's key, read under the stage's lock)
   * if they changed, then starts the cache fill.
   */
  void upload(WriteStage s, String key) throws FsException {
    Uploaded done = null;
    s.lock.writeLock().lock();
    try {
      if (!s.dirty || s.unlinked) {
        return;
      }
      s.checkUsable();
      // null: the stage's key now, read under its lock (a rename holds it while it re-keys the stage)
      String target = key != null ? key : ns.key(s.path);
      java.util.concurrent.locks.ReentrantLock keyLock = keys.of(target);
      keyLock.lock();
      try {
        if (s.unlinked) {
          return; // a rename replaced this file while it waited for the key: the rename's bytes stay
        }
        done = uploadLocked(s, target);
        ns.written(s.path, new Node.File(done.meta()));
      } finally {
        keyLock.unlock();
      }
    } finally {
      s.lock.writeLock().unlock();
      if (done != null) {
        startFill(s, done);
      }
    }
  }

  /** An upload's new version, and the cache fill from the staged bytes it leaves to start. */
  record Uploaded(ObjectMeta meta, StagedFile file, long length, long generation) {}

  /**
   * Uploads the staged bytes to {@code key} (journal first, so a crash re-uploads); stage locked.
   * The caller starts the cache fill ({@link #startFill}) once it has released the lock; until the
   * fill ends the stage stays (reads of the file are served from the staged bytes, with no GET).
   */
  Uploaded uploadLocked(WriteStage s, String key) throws FsException {
    StagedFile f = s.file;
    long length;
    try {
      length = f.length();
      f.record(key, StagedFile.State.CLOSED);
    } catch (IOException e) {
      throw new FsException(Errno.EIO, FsException.Level.WARN, "staging " + s.path + ": " + e, e);
    }
    ObjectMeta meta;
    long started = System.nanoTime();
    StreamingUpload st = s.stream;
    s.stream = null;
    try (Timer.Context ignored = uploads.time()) {
      int early = st == null ? 0 : st.partsSent();
      meta = st == null ? null : st.finish(key, length);
      if (st != null) {
        journalUpload(f, null); // completed, or aborted and replaced by the whole upload below
      }
      if (meta != null) {
        earlyParts.inc(early);
      } else {
        meta = uploader.upload(key, f.path(), length);
      }
    } catch (ObjectClientException e) {
      failures.inc();
      LOG.warn("upload of s3://{}/{} ({} bytes) failed: {}. Nothing is lost: the bytes stay staged at {} and are "
          + "uploaded at the next close of the file or the next mount", fs.bucket(), key, length, e.getMessage(),
          f.path());
      throw new FsException(Errno.EIO, FsException.Level.WARN, "upload of " + s.path + " failed: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      failures.inc();
      LOG.warn("upload of s3://{}/{} failed; the bytes stay staged at {}", fs.bucket(), key, f.path(), e);
      throw new FsException(Errno.EIO, FsException.Level.WARN, "upload of " + s.path + " failed: " + e, e);
    }
    uploadBytes.inc(length);
    s.dirty = false;
    s.inS3 = true;
    s.uploaded = meta;
    try {
      f.record(key, StagedFile.State.UPLOADED);
    } catch (IOException e) {
      LOG.warn("staging: cannot record the upload of {} ({}); a restart may upload it again", f, e.toString());
    }
    LOG.info("uploaded s3://{}/{} ({} bytes) in {} ms", fs.bucket(), key, length,
        (System.nanoTime() - started) / 1_000_000);
    table.fillStarted(s);
    return new Uploaded(meta, f, length, s.generation.get());
  }

  /** Fills the cache from the staged bytes of {@code done} on the fill executor, off the close path. */
  void startFill(WriteStage s, Uploaded done) {
    try {
      fills.execute(() -> {
        try {
          fill(s, done);
        } finally {
          fillEnded(s);
        }
      });
    } catch (RejectedExecutionException e) {
      fillEnded(s); // unmounting: no fill
    }
  }

  private void fillEnded(WriteStage s) {
    table.fillEnded(s);
    table.dropIfIdle(s);
  }

  /**
   * Puts the uploaded bytes into the block cache under the new version, so reads need no GET.
   * Stops as soon as the staged bytes change (a writer reopened the file) or the file is removed:
   * each block is checked against the upload's generation before and after it is read, and writers
   * bump the generation before they touch the bytes, so no block of other bytes is ever cached
   * under this version.
   */
  private void fill(WriteStage s, Uploaded done) {
    int blockSize = blocks.blockSize();
    long started = System.nanoTime();
    ObjectMeta meta = done.meta();
    try {
      for (long index = 0; index * blockSize < done.length(); index++) {
        if (s.unlinked || s.generation.get() != done.generation()) {
          LOG.debug("cache fill of {} stopped: the file changed", meta.key());
          return;
        }
        int len = (int) Math.min(blockSize, done.length() - index * blockSize);
        ByteBuffer block = ByteBuffer.allocateDirect(len);
        if (done.file().read(index * blockSize, block) != len || s.generation.get() != done.generation()) {
          return;
        }
        blocks.fill(new BlockKey(fs.bucket(), meta.key(), meta.etag(), index), block.flip());
      }
      LOG.debug("cache filled with s3://{}/{} ({} bytes) in {} ms", fs.bucket(), meta.key(), done.length(),
          (System.nanoTime() - started) / 1_000_000);
    } catch (IOException | RuntimeException | OutOfMemoryError e) {
      LOG.debug("filling the cache from {} stopped: {}", done.file(), e.toString());
    }
  }
}
