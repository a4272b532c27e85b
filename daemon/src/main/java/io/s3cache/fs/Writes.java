package io.s3cache.fs;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import io.s3cache.cache.BlockCache;
import io.s3cache.cache.BlockKey;
import io.s3cache.fuse.Errno;
import io.s3cache.fuse.FsException;
import io.s3cache.metrics.MetricNames;
import io.s3cache.s3.ListPage;
import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectClientException;
import io.s3cache.s3.ObjectMeta;
import io.s3cache.write.StagedFile;
import io.s3cache.write.StagingArea;
import io.s3cache.write.Uploader;
import io.s3cache.write.WriteConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The write path of a writable mount: files opened for writing are staged ({@link Stage}) and
 * uploaded when a descriptor is closed (FUSE flush) or fsynced, before that call returns; unlink,
 * mkdir, rmdir and rename act on S3 directly. Files with a temporary name are uploaded when
 * renamed, to the new name (one upload, no temp key), or after {@code temp_upload_delay}.
 *
 * <p>Concurrency: a map of live stages by path, whose membership and handle counts change under
 * {@code structure}; each stage's bytes under its own read/write lock (see {@link Stage}). Lock
 * order: a stage's lock, then {@code structure}. Uploads run on the calling FUSE thread (parts on
 * the upload executor); {@code timer} uploads temp files nobody renamed; {@code fills} copies each
 * uploaded file into the block cache after its close has returned.
 */
final class Writes implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(Writes.class);
  private static final Path EMPTY = Path.of("/dev/null");

  private final FsConfig fs;
  private final WriteConfig config;
  private final Namespace ns;
  private final ObjectClient client;
  private final BlockCache blocks;
  private final StagingArea area;
  private final Uploader uploader;
  private final ScheduledExecutorService timer;
  private final java.util.concurrent.Executor fills;
  private final Map<String, Stage> stages = new ConcurrentHashMap<>();
  private final Object structure = new Object();
  private final Timer uploads;
  private final Counter uploadBytes;
  private final Counter failures;
  private final Counter recovered;
  private final Counter noSpace;
  private final Counter earlyParts;

  Writes(FsConfig fs, WriteConfig config, Namespace ns, ObjectClient client, BlockCache blocks, StagingArea area,
      Uploader uploader, ScheduledExecutorService timer, java.util.concurrent.Executor fills, MetricRegistry metrics) {
    this.fs = fs;
    this.config = config;
    this.ns = ns;
    this.client = client;
    this.blocks = blocks;
    this.area = area;
    this.uploader = uploader;
    this.timer = timer;
    this.fills = fills;
    this.uploads = metrics.timer(MetricNames.UPLOADS);
    this.uploadBytes = metrics.counter(MetricNames.UPLOAD_BYTES);
    this.failures = metrics.counter(MetricNames.UPLOAD_FAILURES);
    this.recovered = metrics.counter(MetricNames.UPLOAD_RECOVERED);
    this.noSpace = metrics.counter(MetricNames.STAGING_NOSPACE);
    this.earlyParts = metrics.counter(MetricNames.UPLOAD_PARTS_WHILE_WRITING);
    metrics.gauge(MetricNames.STAGED_BYTES, () -> (Gauge<Long>) this::stagedBytes);
  }

  private long stagedBytes() {
    long sum = 0;
    for (Stage s : stages.values()) {
      if (s.dirty && s.file != null) {
        sum += s.size();
      }
    }
    return sum;
  }

  Stage stage(String path) {
    return stages.get(path);
  }

  /** Staged files directly in directory {@code dir}, by name. */
  Map<String, Stage> stagesIn(String dir) {
    String base = dir.equals("/") ? "/" : dir + "/";
    Map<String, Stage> found = new java.util.LinkedHashMap<>();
    stages.forEach((path, s) -> {
      if (path.startsWith(base) && path.indexOf('/', base.length()) < 0) {
        found.put(path.substring(base.length()), s);
      }
    });
    return found;
  }

  // ---- open, write, close ----

  /** Opens {@code path} for writing (creating it if asked); the caller releases the stage once. */
  Stage open(String path, boolean create, boolean exclusive, boolean truncate) throws FsException {
    Stage s;
    synchronized (structure) {
      s = stages.get(path);
      if (s != null) {
        if (create && exclusive) {
          throw new FsException(Errno.EEXIST, path + " exists");
        }
        s.handles++;
      } else {
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
          requireParentDirectory(path);
        }
        s = new Stage(path, base);
        s.inS3 = base != null;
        if (base == null) {
          s.file = newStagedFile(path);
          s.dirty = true; // a new file exists in S3 once closed, even if empty
        }
        s.handles = 1;
        stages.put(path, s);
      }
    }
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

  /** A reader of {@code path} while it is staged: the stage (with a handle taken), or null. */
  Stage attachReader(String path) {
    synchronized (structure) {
      Stage s = stages.get(path);
      if (s == null || s.file == null) {
        return null;
      }
      s.handles++;
      return s;
    }
  }

  int write(Stage s, long offset, ByteBuffer src) throws FsException {
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
      checkUsable(s);
      int n = src.remaining();
      area.ensureRoom(n);
      s.generation.incrementAndGet();
      try {
        s.file.write(offset, src);
      } catch (IOException e) {
        throw writeFailed(s, "write", e);
      }
      markDirty(s);
      io.s3cache.write.StreamingUpload st = streamOf(s, offset);
      if (st != null) {
        st.written(offset, n);
      }
      return n;
    } finally {
      s.lock.readLock().unlock();
    }
  }

  /**
   * The stage's streaming upload, started at the first write at offset 0 of a file that is not
   * temp-named (those are uploaded at rename, to a key not known yet) and has not been uploaded
   * from this stage yet. Sequential writers of large files (checkpoints) so overlap the upload with
   * the writing; anything else breaks it off and the close uploads the whole file.
   */
  private io.s3cache.write.StreamingUpload streamOf(Stage s, long offset) {
    io.s3cache.write.StreamingUpload st = s.stream;
    if (st != null || offset != 0) {
      return st;
    }
    synchronized (s) {
      if (!s.streamTried) {
        s.streamTried = true;
        if (!config.isTempName(name(s.path)) && s.uploaded == null) {
          s.stream = uploader.streaming(ns.key(s.path), s.file.path());
        }
      }
      return s.stream;
    }
  }

  /** Breaks off the stage's streaming upload, if any (its file no longer grows in order). */
  private static void stopStream(Stage s, String why) {
    io.s3cache.write.StreamingUpload st = s.stream;
    if (st != null) {
      s.stream = null;
      st.breakOff(why);
    }
  }

  /** Reads from the staged bytes; null when the stage holds no copy yet (read {@code s.base}). */
  Integer read(Stage s, long offset, ByteBuffer dst) throws FsException {
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

  /**
   * close(2) of a descriptor ({@code fsync} false) or fsync(2): uploads the file if it changed and
   * returns once S3 has it. Temp-named files are only made safe on the cache disk (uploaded when
   * renamed).
   */
  void flush(Stage s, boolean fsync) throws FsException {
    if (s.unlinked || (!s.dirty && s.failure == null)) {
      return;
    }
    if (!fsync && isUntouchedNewFile(s)) {
      // open + dup2 + close (dd, shell redirections) flushes before the first write: an empty new
      // file is uploaded at its last close (release) instead, so it is not PUT twice.
      return;
    }
    if (config.isTempName(name(s.path))) {
      s.lock.writeLock().lock();
      try {
        checkUsable(s);
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
      return;
    }
    upload(s, ns.key(s.path));
  }

  void release(Stage s) {
    boolean idle;
    boolean deferred = false;
    synchronized (structure) {
      s.handles--;
      idle = s.handles == 0;
      if (idle && s.dirty && !s.unlinked && s.failure == null) {
        deferred = true; // kept (visible in the mount) until uploaded
      }
    }
    if (!idle) {
      return;
    }
    if (deferred && isUntouchedNewFile(s) && !config.isTempName(name(s.path))) {
      try {
        upload(s, ns.key(s.path)); // touch: the empty object
        deferred = false;
      } catch (FsException e) {
        LOG.warn("{}: the empty new file could not be created in S3 ({}); it stays staged", s.path, e.getMessage());
      }
    }
    if (deferred) {
      if (config.isTempName(name(s.path))) {
        timer.schedule(() -> uploadLater(s), config.tempUploadDelay().toMillis(), TimeUnit.MILLISECONDS);
      } else {
        LOG.warn("{} (s3://{}/{}) is closed but not in S3 (its upload failed); staged at {}: the next close "
            + "of the file or the next mount uploads it", s.path, fs.bucket(), ns.key(s.path), s.file.path());
      }
      return;
    }
    dropIfIdle(s);
  }

  private void uploadLater(Stage s) {
    try {
      synchronized (structure) {
        if (s.handles > 0 || stages.get(s.path) != s) {
          return; // reopened (its close uploads it) or renamed/removed meanwhile
        }
      }
      upload(s, ns.key(s.path));
      dropIfIdle(s);
    } catch (FsException e) {
      LOG.warn("temp file {} was not renamed within {} and its upload failed: {}", s.path, config.tempUploadDelay(),
          e.getMessage());
    } catch (RuntimeException e) {
      LOG.error("upload of temp file {} failed", s.path, e);
    }
  }

  /** Forgets a stage nobody uses whose bytes need no upload, and deletes its staged file. */
  private void dropIfIdle(Stage s) {
    s.lock.writeLock().lock();
    try {
      synchronized (structure) {
        if (s.handles > 0 || s.fills > 0 || (s.dirty && !s.unlinked && s.failure == null)) {
          return;
        }
        stages.remove(s.path, s);
      }
      stopStream(s, "dropped");
      if (s.failure != null && !s.unlinked) {
        LOG.warn("{}: discarding the staged bytes of a file whose write failed ({}); S3 keeps its previous "
            + "version, if any", s.path, s.failure);
      }
      if (s.file != null) {
        s.file.delete();
        s.file = null;
      }
    } finally {
      s.lock.writeLock().unlock();
    }
  }

  // ---- truncate ----

  void truncatePath(String path, long size) throws FsException {
    Stage s = open(path, false, false, false);
    try {
      truncate(s, size);
      boolean alone;
      synchronized (structure) {
        alone = s.handles == 1;
      }
      if (alone) {
        flush(s, false); // truncate(2) has no close: S3 gets the result now
      }
    } finally {
      release(s);
    }
  }

  void truncate(Stage s, long size) throws FsException {
    if (size < 0) {
      throw new FsException(Errno.EINVAL, "negative size " + size);
    }
    s.lock.writeLock().lock();
    try {
      checkUsable(s);
      s.generation.incrementAndGet();
      stopStream(s, "truncated");
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

  // ---- namespace changes ----

  void unlink(String path) throws FsException {
    Stage s = stages.get(path);
    if (s == null) {
      Node node = ns.resolve(path);
      if (node instanceof Node.Directory) {
        throw new FsException(Errno.EISDIR, path + " is a directory");
      }
      if (!(node instanceof Node.File)) {
        throw FsException.notFound(path);
      }
      delete(path, ns.key(path));
      ns.written(path, Node.ABSENT);
      return;
    }
    s.lock.writeLock().lock();
    try {
      stopStream(s, "removed");
      if (s.inS3) {
        delete(path, ns.key(path));
      }
      synchronized (structure) {
        s.unlinked = true;
        stages.remove(path, s);
      }
      ns.written(path, Node.ABSENT);
    } finally {
      s.lock.writeLock().unlock();
    }
    dropIfIdle(s);
  }

  void mkdir(String path) throws FsException {
    if (stages.containsKey(path) || !(ns.resolve(path) instanceof Node.Absent)) {
      throw new FsException(Errno.EEXIST, path + " exists");
    }
    requireParentDirectory(path);
    try {
      client.put(ns.key(path) + "/", EMPTY, 0, 0);
    } catch (ObjectClientException e) {
      throw Namespace.s3Failure("mkdir", path, e);
    }
    ns.written(path, new Node.Directory(Instant.now()));
  }

  void rmdir(String path) throws FsException {
    Node node = ns.resolve(path);
    if (node instanceof Node.Absent) {
      throw FsException.notFound(path);
    }
    if (!(node instanceof Node.Directory)) {
      throw new FsException(Errno.ENOTDIR, path + " is not a directory");
    }
    if (path.equals("/")) {
      throw new FsException(Errno.EINVAL, "cannot remove the mount's root");
    }
    String marker = ns.key(path) + "/";
    for (String p : stages.keySet()) {
      if (p.startsWith(path + "/")) {
        throw new FsException(Errno.ENOTEMPTY, path + " is not empty (" + p + " is being written)");
      }
    }
    try {
      ListPage page = client.list(marker, "/", null, 2);
      boolean empty = page.commonPrefixes().isEmpty()
          && page.objects().stream().allMatch(o -> o.key().equals(marker));
      if (!empty) {
        throw new FsException(Errno.ENOTEMPTY, path + " is not empty");
      }
      client.delete(marker);
    } catch (ObjectClientException e) {
      throw Namespace.s3Failure("rmdir", path, e);
    }
    ns.removedDirectory(path);
  }

  /**
   * rename(2) of a file. A staged file closed but not uploaded (a temp file, or a failed upload) is
   * uploaded once, to the new key; one still open is re-keyed and uploads to the new key at its
   * close; a file only in S3 is copied server-side and deleted. Directories: EXDEV.
   */
  void rename(String from, String to) throws FsException {
    if (from.equals(to)) {
      return;
    }
    Node target = stages.containsKey(to) ? null : ns.resolve(to);
    if (target instanceof Node.Directory) {
      throw new FsException(Errno.EISDIR, to + " is a directory");
    }
    requireParentDirectory(to);
    Stage s = stages.get(from);
    if (s == null) {
      Node node = ns.resolve(from);
      if (node instanceof Node.Directory) {
        throw new FsException(Errno.EXDEV, FsException.Level.INFO,
            "rename of directory " + from + " is not supported (mv copies and deletes instead)", null);
      }
      if (!(node instanceof Node.File f)) {
        throw FsException.notFound(from);
      }
      if (f.meta().size() > WriteConfig.MAX_PART_SIZE) {
        throw new FsException(Errno.EFBIG, FsException.Level.INFO, "rename of " + from + ": a server-side copy "
            + "is limited to 5 GiB (S3's CopyObject); copy the file instead", null);
      }
      ObjectMeta copied;
      try {
        copied = client.copy(ns.key(from), ns.key(to));
      } catch (ObjectClientException e) {
        throw Namespace.s3Failure("rename", from, e);
      }
      delete(from, ns.key(from));
      replaceStage(to, null);
      ns.written(from, Node.ABSENT);
      ns.written(to, new Node.File(copied));
      return;
    }
    String toKey = ns.key(to);
    String fromKey = ns.key(from);
    Uploaded renamed = null;
    s.lock.writeLock().lock();
    try {
      checkUsable(s);
      stopStream(s, "renamed");
      boolean open;
      synchronized (structure) {
        open = s.handles > 0;
      }
      ObjectMeta meta = null;
      boolean wasInS3 = s.inS3;
      if (s.dirty && !open) {
        renamed = uploadLocked(s, toKey); // one upload, straight to the final key
        meta = renamed.meta();
      } else if (!s.dirty) {
        if (s.size() > WriteConfig.MAX_PART_SIZE) {
          throw new FsException(Errno.EFBIG, FsException.Level.INFO, "rename of " + from + ": a server-side copy "
              + "is limited to 5 GiB (S3's CopyObject)", null);
        }
        try {
          meta = client.copy(fromKey, toKey);
        } catch (ObjectClientException e) {
          throw Namespace.s3Failure("rename", from, e);
        }
      } else if (s.file != null) {
        try {
          s.file.record(toKey, s.file.state()); // still being written: its close uploads to the new key
        } catch (IOException e) {
          throw new FsException(Errno.EIO, FsException.Level.WARN, "rename of staged " + from + ": " + e, e);
        }
      }
      if (wasInS3) {
        delete(from, fromKey);
      }
      s.inS3 = meta != null;
      boolean keep;
      synchronized (structure) {
        stages.remove(from, s);
        replaceStage(to, s);
        s.path = to;
        keep = s.handles > 0 || s.dirty || s.fills > 0;
        if (keep) {
          stages.put(to, s);
        }
      }
      ns.written(from, Node.ABSENT);
      if (meta != null) {
        ns.written(to, new Node.File(meta));
      } else {
        ns.forget(to);
      }
    } finally {
      s.lock.writeLock().unlock();
      if (renamed != null) {
        startFill(s, renamed);
      }
    }
    dropIfIdle(s);
  }

  /** The stage now at {@code to} (if another) is replaced by a rename: it becomes unlinked. */
  private void replaceStage(String to, Stage incoming) {
    Stage old;
    synchronized (structure) {
      old = stages.get(to);
      if (old == null || old == incoming) {
        return;
      }
      old.unlinked = true;
      stages.remove(to, old);
    }
    dropIfIdle(old);
  }

  // ---- uploads ----

  private void upload(Stage s, String key) throws FsException {
    Uploaded done = null;
    s.lock.writeLock().lock();
    try {
      if (!s.dirty || s.unlinked) {
        return;
      }
      checkUsable(s);
      done = uploadLocked(s, key);
      ns.written(s.path, new Node.File(done.meta()));
    } finally {
      s.lock.writeLock().unlock();
      if (done != null) {
        startFill(s, done);
      }
    }
  }

  /** An upload's new version, and the cache fill from the staged bytes it leaves to start. */
  private record Uploaded(ObjectMeta meta, StagedFile file, long length, long generation) {}

  /**
   * Uploads the staged bytes to {@code key} (journal first, so a crash re-uploads); stage locked.
   * The caller starts the cache fill ({@link #startFill}) once it has released the lock; until the
   * fill ends the stage stays (reads of the file are served from the staged bytes, with no GET).
   */
  private Uploaded uploadLocked(Stage s, String key) throws FsException {
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
    io.s3cache.write.StreamingUpload st = s.stream;
    s.stream = null;
    try (Timer.Context ignored = uploads.time()) {
      int early = st == null ? 0 : st.partsSent();
      meta = st == null ? null : st.finish(key, length);
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
    synchronized (structure) {
      s.fills++; // keeps the stage (and its staged file) until the fill ends
    }
    return new Uploaded(meta, f, length, s.generation.get());
  }

  /** Fills the cache from the staged bytes of {@code done} on the fill executor, off the close path. */
  private void startFill(Stage s, Uploaded done) {
    try {
      fills.execute(() -> {
        try {
          fill(s, done);
        } finally {
          fillEnded(s);
        }
      });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      fillEnded(s); // unmounting: no fill
    }
  }

  private void fillEnded(Stage s) {
    synchronized (structure) {
      s.fills--;
    }
    dropIfIdle(s);
  }

  /**
   * Puts the uploaded bytes into the block cache under the new version, so reads need no GET.
   * Stops as soon as the staged bytes change (a writer reopened the file) or the file is removed:
   * each block is checked against the upload's generation before and after it is read, and writers
   * bump the generation before they touch the bytes, so no block of other bytes is ever cached
   * under this version.
   */
  private void fill(Stage s, Uploaded done) {
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

  // ---- recovery, shutdown ----

  /**
   * Staged files left under this mount's bucket and prefix by an earlier process: closed ones are
   * uploaded now (or stay pending, visible in the mount, if that fails); ones whose writer never
   * closed them may be incomplete and are moved to {@code staging/incomplete/} with a WARN.
   */
  void recover() {
    List<StagingArea.Leftover> found;
    try {
      found = area.leftovers(fs.bucket(), fs.prefix());
    } catch (IOException e) {
      LOG.warn("staging: cannot look for staged files left by an earlier run: {}", e.toString());
      return;
    }
    for (StagingArea.Leftover l : found) {
      Path meta = l.data().resolveSibling(l.id() + ".meta");
      String url = "s3://" + l.bucket() + "/" + l.key();
      switch (l.state()) {
        case UPLOADED -> {
          try {
            java.nio.file.Files.deleteIfExists(meta);
            java.nio.file.Files.deleteIfExists(l.data());
          } catch (IOException e) {
            LOG.warn("staging: cannot delete {}: {}", l.data(), e.toString());
          }
        }
        case OPEN -> LOG.warn("staging: {} was still open for writing when s3cache stopped, so it may be "
            + "incomplete; it was NOT uploaded. Its bytes are kept at {}", url, area.moveAside(meta, l.data()));
        case CLOSED -> recoverClosed(l, url);
      }
    }
  }

  private void recoverClosed(StagingArea.Leftover l, String url) {
    String path = "/" + l.key().substring(fs.prefix().length());
    Stage s = new Stage(path, null);
    try {
      s.file = area.adopt(l);
    } catch (IOException e) {
      LOG.warn("staging: cannot open {} for {}: {}", l.data(), url, e.toString());
      return;
    }
    s.dirty = true;
    s.inS3 = true;
    synchronized (structure) {
      if (stages.putIfAbsent(path, s) != null) {
        s.file.closeKeeping();
        return;
      }
    }
    try {
      upload(s, l.key());
      recovered.inc();
      LOG.info("staging: uploaded {} ({} bytes), left staged by an earlier run", url, s.size());
      dropIfIdle(s);
    } catch (FsException e) {
      LOG.warn("staging: {} (left staged by an earlier run) could not be uploaded: {}; it stays staged at {} "
          + "and visible in the mount", url, e.getMessage(), l.data());
    }
  }

  /** At unmount: uploads closed temp files nobody renamed; leaves everything else staged. */
  @Override
  public void close() {
    timer.shutdownNow();
    for (Stage s : new ArrayList<>(stages.values())) {
      stopStream(s, "unmounted");
      boolean idle;
      synchronized (structure) {
        idle = s.handles == 0;
      }
      if (idle && s.dirty && s.failure == null && !s.unlinked) {
        try {
          upload(s, ns.key(s.path));
        } catch (FsException e) {
          LOG.warn("unmount: {} could not be uploaded ({}); it stays staged and is uploaded at the next mount",
              s.path, e.getMessage());
        }
      }
      StagedFile f = s.file;
      if (f != null) {
        if (s.dirty && !s.unlinked && s.failure == null) {
          f.closeKeeping();
        } else {
          f.delete();
        }
      }
    }
    stages.clear();
  }

  // ---- helpers ----

  private StagedFile newStagedFile(String path) throws FsException {
    try {
      return area.create(fs.bucket(), ns.key(path));
    } catch (IOException e) {
      if (isNoSpace(e)) {
        noSpace.inc();
        throw new FsException(Errno.ENOSPC, FsException.Level.WARN, "cannot stage " + path + ": the cache disk is full", e);
      }
      throw new FsException(Errno.EIO, FsException.Level.WARN, "cannot stage " + path + ": " + e, e);
    }
  }

  /** Copies the object the stage started from into a staged file (append or write into it). Locked. */
  private void copyBase(Stage s) throws FsException {
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
        throw Namespace.s3Failure("copy for writing", s.path, oce);
      }
      if (isNoSpace(e)) {
        noSpace.inc();
        throw new FsException(Errno.ENOSPC, FsException.Level.WARN, "cannot stage " + s.path + ": the cache disk is full", e);
      }
      throw new FsException(Errno.EIO, FsException.Level.WARN, "cannot stage " + s.path + ": " + e, e);
    }
    s.file = f;
    s.base = null;
  }

  private boolean isUntouchedNewFile(Stage s) {
    return !s.touched && !s.inS3 && s.failure == null && s.size() == 0;
  }

  private void markDirty(Stage s) throws FsException {
    s.touched = true;
    s.mtime = Instant.now();
    s.dirty = true;
    StagedFile f = s.file;
    if (f.state() != StagedFile.State.OPEN) {
      try {
        f.record(f.key(), StagedFile.State.OPEN);
      } catch (IOException e) {
        throw writeFailed(s, "journal", e);
      }
    }
  }

  private FsException writeFailed(Stage s, String op, IOException e) {
    boolean full = isNoSpace(e);
    s.failure = (full ? "the cache disk is full" : e.toString());
    if (full) {
      noSpace.inc();
      return new FsException(Errno.ENOSPC, FsException.Level.WARN, op + " " + s.path + ": the cache disk ("
          + area.dir() + ") is full", e);
    }
    return new FsException(Errno.EIO, FsException.Level.WARN, op + " " + s.path + ": " + e, e);
  }

  private static void checkUsable(Stage s) throws FsException {
    if (s.failure != null) {
      Errno errno = s.failure.startsWith("the cache disk is full") ? Errno.ENOSPC : Errno.EIO;
      throw new FsException(errno, FsException.Level.WARN, s.path + ": an earlier write failed (" + s.failure
          + "); the file is not uploaded", null);
    }
  }

  private static boolean isNoSpace(IOException e) {
    String m = String.valueOf(e.getMessage());
    return m.contains("No space left on device") || m.contains("Disk quota exceeded");
  }

  private void delete(String path, String key) throws FsException {
    try {
      client.delete(key);
    } catch (ObjectClientException e) {
      throw Namespace.s3Failure("delete", path, e);
    }
  }

  private void requireParentDirectory(String path) throws FsException {
    String parent = MetadataCache.parentAndName(path).get(0);
    Node p = ns.resolve(parent);
    if (p instanceof Node.Absent) {
      throw FsException.notFound(parent);
    }
    if (!(p instanceof Node.Directory)) {
      throw new FsException(Errno.ENOTDIR, parent + " is not a directory");
    }
  }

  private static String name(String path) {
    return path.substring(path.lastIndexOf('/') + 1);
  }
}
