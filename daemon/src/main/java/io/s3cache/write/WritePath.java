package io.s3cache.write;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import io.s3cache.cache.BlockCache;
import io.s3cache.fs.FsConfig;
import io.s3cache.fs.Node;
import io.s3cache.fuse.Errno;
import io.s3cache.fuse.FsException;
import io.s3cache.metrics.MetricNames;
import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectMeta;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The write path of a writable mount: files opened for writing are staged ({@link WriteStage}) and
 * uploaded when a descriptor is closed (FUSE flush) or fsynced, before that call returns; unlink,
 * mkdir, rmdir and rename act on S3 directly. Files with a temporary name are uploaded when
 * renamed, to the new name (one upload, no temp key), or after {@code temp_upload_delay}.
 *
 * <p>This class is what {@link S3Filesystem} calls, and owns the life of a handle (open, flush,
 * release) and the timer of temp files; the rest is its parts': {@link WriteStages} (the live
 * stages by path), {@link StageIo} (writes, reads, truncates), {@link CloseUploads} (uploads and the
 * cache fill after each), {@link NamespaceChanges} (unlink, mkdir, rmdir, rename) and {@link
 * Leftovers} (recovery at mount, what unmount leaves staged).
 *
 * <p>Concurrency: a map of live stages by path, whose membership and handle counts change under
 * {@link WriteStages}'s {@code structure}; each stage's bytes under its own read/write lock (see
 * {@link WriteStage}). Lock order: a stage's lock, then {@code structure}. Uploads run on the calling
 * FUSE thread (parts on the upload executor); {@code timer} uploads temp files nobody renamed;
 * {@code fills} copies each uploaded file into the block cache after its close has returned.
 */
public final class WritePath implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(WritePath.class);

  private final FsConfig fs;
  private final WriteConfig config;
  private final NamespacePort ns;
  private final ScheduledExecutorService timer;
  private final WriteStages table = new WriteStages();
  private final CloseUploads uploads;
  private final StageIo bytes;
  private final NamespaceChanges names;
  private final Leftovers leftovers;

  public WritePath(FsConfig fs, WriteConfig config, NamespacePort ns, ObjectClient client, BlockCache blocks,
      StagingArea area, ObjectUploader uploader, ScheduledExecutorService timer, Executor fills, MetricRegistry metrics) {
    this.fs = fs;
    this.config = config;
    this.ns = ns;
    this.timer = timer;
    KeyLocks keys = new KeyLocks();
    this.uploads = new CloseUploads(fs, config, ns, blocks, uploader, fills, table, keys, metrics);
    this.bytes = new StageIo(fs, config, ns, blocks, area, uploads, metrics);
    this.names = new NamespaceChanges(ns, client, table, uploads, keys);
    this.leftovers = new Leftovers(fs, ns, area, client, table, uploads, metrics);
    metrics.gauge(MetricNames.STAGED_BYTES, () -> (Gauge<Long>) table::stagedBytes);
  }

  public WriteStage stage(String path) {
    return table.get(path);
  }

  /** Staged files directly in directory {@code dir}, by name. */
  public Map<String, WriteStage> stagesIn(String dir) {
    return table.stagesIn(dir);
  }

  // ---- open, write, close ----

  /** Opens {@code path} for writing (creating it if asked); the caller releases the stage once. */
  public WriteStage open(String path, boolean create, boolean exclusive, boolean truncate) throws FsException {
    WriteStage s = table.openOrAttach(path, create && exclusive, () -> newStage(path, create, exclusive));
    if (truncate) {
      try {
        truncate(s, 0);
      } catch (FsException e) {
        release(s);
        throw e;
      }
    }
    return s;
  }

  /** The stage of a path not staged yet, for {@link #open} (no lock held: it may ask S3). */
  private WriteStage newStage(String path, boolean create, boolean exclusive) throws FsException {
    Node node = ns.resolve(path);
    if (node instanceof Node.Directory) {
      throw new FsException(Errno.EISDIR, path + " is a directory");
    }
    ObjectMeta base = null;
    if (node instanceof Node.File f) {
      if (create && exclusive) {
        throw new FsException(Errno.EEXIST, path + " exists");
      }
      base = f.meta();
    } else if (!create) {
      throw FsException.notFound(path);
    } else {
      ns.requireParentDirectory(path);
    }
    WriteStage s = new WriteStage(path, base);
    s.inS3 = base != null;
    if (base == null) {
      s.file = bytes.newStagedFile(path);
      s.dirty = true; // a new file exists in S3 once closed, even if empty
    }
    return s;
  }

  /** A reader of {@code path} while it is staged: the stage (with a handle taken), or null. */
  public WriteStage attachReader(String path) {
    return table.attachReader(path);
  }

  public int write(WriteStage s, long offset, ByteBuffer src) throws FsException {
    return bytes.write(s, offset, src);
  }

  /** Reads from the staged bytes; null when the stage holds no copy yet (read {@code s.base}). */
  public Integer read(WriteStage s, long offset, ByteBuffer dst) throws FsException {
    return bytes.read(s, offset, dst);
  }

  /**
   * close(2) of a descriptor ({@code fsync} false) or fsync(2): uploads the file if it changed and
   * returns once S3 has it. Temp-named files are only made safe on the cache disk (uploaded when
   * renamed).
   */
  public void flush(WriteStage s, boolean fsync) throws FsException {
    if (s.unlinked || (!s.dirty && s.failure == null)) {
      return;
    }
    if (!fsync && s.isUntouchedNewFile()) {
      // open + dup2 + close (dd, shell redirections) flushes before the first write: an empty new
      // file is uploaded at its last close (release) instead, so it is not PUT twice.
      return;
    }
    s.lock.writeLock().lock();
    try {
      // Name and key are read under the stage's lock: a rename, which holds it, cannot change them
      // between this decision and the upload.
      if (!config.isTempName(s.name())) {
        uploads.upload(s, null);
        return;
      }
      s.checkUsable();
      if (s.dirty && !s.unlinked) {
        if (fsync) {
          s.file.force();
        }
        s.file.record(s.file.key(), StagedFile.State.CLOSED);
      }
    } catch (IOException e) {
      throw new FsException(Errno.EIO, FsException.Level.WARN, "staging " + s.path + ": " + e, e);
    } finally {
      s.lock.writeLock().unlock();
    }
  }

  public void release(WriteStage s) {
    WriteStages.Released left = table.release(s);
    if (left == WriteStages.Released.IN_USE) {
      return;
    }
    boolean deferred = left == WriteStages.Released.PENDING;
    if (deferred && s.isUntouchedNewFile() && !config.isTempName(s.name())) {
      try {
        uploads.upload(s, null); // touch: the empty object
        deferred = false;
      } catch (FsException e) {
        LOG.warn("{}: the empty new file could not be created in S3 ({}); it stays staged", s.path, e.getMessage());
      }
    }
    if (deferred) {
      if (config.isTempName(s.name())) {
        timer.schedule(() -> uploadLater(s), config.tempUploadDelay().toMillis(), TimeUnit.MILLISECONDS);
      } else {
        LOG.warn("{} (s3://{}/{}) is closed but not in S3 (its upload failed); staged at {}: the next close "
            + "of the file or the next mount uploads it", s.path, fs.bucket(), ns.key(s.path), s.file.path());
      }
      return;
    }
    table.dropIfIdle(s);
  }

  private void uploadLater(WriteStage s) {
    try {
      if (!table.isClosedAndCurrent(s)) {
        return; // reopened (its close uploads it) or renamed/removed meanwhile
      }
      uploads.upload(s, null);
      table.dropIfIdle(s);
    } catch (FsException e) {
      LOG.warn("temp file {} was not renamed within {} and its upload failed: {}", s.path, config.tempUploadDelay(),
          e.getMessage());
    } catch (RuntimeException e) {
      LOG.error("upload of temp file {} failed", s.path, e);
    }
  }

  // ---- truncate ----

  public void truncatePath(String path, long size) throws FsException {
    WriteStage s = open(path, false, false, false);
    try {
      truncate(s, size);
      boolean alone = table.handles(s) == 1;
      if (alone) {
        flush(s, false); // truncate(2) has no close: S3 gets the result now
      }
    } finally {
      release(s);
    }
  }

  public void truncate(WriteStage s, long size) throws FsException {
    bytes.truncate(s, size);
  }

  // ---- namespace changes ----

  public void unlink(String path) throws FsException {
    names.unlink(path);
  }

  public void mkdir(String path) throws FsException {
    names.mkdir(path);
  }

  public void rmdir(String path) throws FsException {
    names.rmdir(path);
  }

  /** rename(2) of a file (see {@link NamespaceChanges#rename}). Directories: EXDEV. */
  public void rename(String from, String to) throws FsException {
    names.rename(from, to);
  }

  // ---- recovery, shutdown ----

  /** Uploads what an earlier process left staged for this mount (see {@link Leftovers#recover}). */
  public void recover() {
    leftovers.recover();
  }

  /** At unmount: uploads closed temp files nobody renamed; leaves everything else staged. */
  @Override
  public void close() {
    // Let a temp-file upload that is running finish (an interrupt would break its file channel);
    // uploads still waiting for their delay are dropped: the unmount below uploads those files.
    if (timer instanceof java.util.concurrent.ScheduledThreadPoolExecutor pool) {
      pool.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    } else {
      timer.shutdownNow(); // cannot tell it to drop only the waiting ones
    }
    timer.shutdown();
    try {
      if (!timer.awaitTermination(60, TimeUnit.SECONDS)) {
        timer.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      timer.shutdownNow();
    }
    leftovers.unmount();
  }
}
