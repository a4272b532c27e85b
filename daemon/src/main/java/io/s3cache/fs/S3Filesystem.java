package io.s3cache.fs;

import com.codahale.metrics.MetricRegistry;
import com.github.benmanes.caffeine.cache.Ticker;
import io.s3cache.cache.BlockCache;
import io.s3cache.cache.CacheDatabase;
import io.s3cache.fuse.DirEntry;
import io.s3cache.fuse.Errno;
import io.s3cache.fuse.FileAttributes;
import io.s3cache.fuse.Filesystem;
import io.s3cache.fuse.FsException;
import io.s3cache.fuse.FsStatistics;
import io.s3cache.fuse.OpenFile;
import io.s3cache.fuse.OpenFlags;
import io.s3cache.readahead.Prefetcher;
import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectMeta;
import io.s3cache.write.ObjectUploader;
import io.s3cache.write.StagingArea;
import io.s3cache.write.WriteConfig;
import io.s3cache.write.WritePath;
import io.s3cache.write.WriteStage;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A bucket (or a prefix of one) as a filesystem: namespace from LIST/HEAD through the metadata
 * cache, file bytes from the block cache. Read-only unless built {@link Builder#writable writable}:
 * then files opened for writing are staged locally and uploaded at close (see {@link WritePath}), and
 * mkdir, unlink, rmdir and rename change the bucket. Implements the FUSE port; knows nothing of jnr.
 *
 * <p>Each FUSE handle number maps to an {@link OpenHandle}: a {@link ReadHandle} pins one object
 * version (its ETag), so a handle never mixes bytes of two versions, and with a {@link Prefetcher}
 * reads ahead of a sequential reader (see {@code io.s3cache.readahead}); a {@link StageHandle}
 * reads and writes a staged file. Opens of objects and the blocks readers fetch from S3 themselves
 * are reported to the {@link ReadObserver} (the mount's epoch plan slot). Thread-safe.
 */
public final class S3Filesystem implements Filesystem {

  static final String XATTR_ETAG = "user.s3cache.etag";
  static final String XATTR_URL = "user.s3cache.url";

  private final FsConfig config;
  private final BlockCache blocks;
  private final Namespace namespace;
  private final Attributes attributes;
  private final ObjectReads reads;
  private final ReadObserver observer;
  private final Map<Long, OpenHandle> handles = new ConcurrentHashMap<>();
  private final ObjectClient client;
  private final WritePath writes; // null: read-only
  private final AtomicLong nextHandle = new AtomicLong(1);

  /**
   * How to build a filesystem: {@code config}, {@code client}, {@code blocks} and {@code metrics}
   * are required; everything else has a default.
   */
  public static Builder builder(FsConfig config, ObjectClient client, BlockCache blocks, MetricRegistry metrics) {
    return new Builder(config, client, blocks, metrics);
  }

  /** Options of an {@link S3Filesystem}; see {@link S3Filesystem#builder}. */
  public static final class Builder {
    private final FsConfig config;
    private final ObjectClient client;
    private final BlockCache blocks;
    private final MetricRegistry metrics;
    private Prefetcher prefetcher;
    private CacheDatabase metadataDb;
    private ReadObserver observer = ReadObserver.NONE;
    private Ticker ticker = Ticker.systemTicker();
    private Clock wallClock = Clock.systemUTC();
    private Writes writes; // null: read-only

    /** What a writable filesystem's write path is built from; see {@link #writable}. */
    private record Writes(WriteConfig config, StagingArea area, ObjectUploader uploader,
        ScheduledExecutorService timer, Executor fills) {}

    private Builder(FsConfig config, ObjectClient client, BlockCache blocks, MetricRegistry metrics) {
      this.config = Objects.requireNonNull(config, "config");
      this.client = Objects.requireNonNull(client, "client");
      this.blocks = Objects.requireNonNull(blocks, "blocks");
      this.metrics = Objects.requireNonNull(metrics, "metrics");
    }

    /** Reads ahead of sequential readers into the block cache; null (the default) for none. */
    public Builder prefetcher(Prefetcher prefetcher) {
      this.prefetcher = prefetcher;
      return this;
    }

    /**
     * Where stat results and listings persist across restarts (the cache's index database); null
     * (the default) keeps them in memory only.
     */
    public Builder metadataDb(CacheDatabase metadataDb) {
      this.metadataDb = metadataDb;
      return this;
    }

    /** Told of opens and of reader fetches (the mount's epoch plan slot); by default nobody. */
    public Builder readObserver(ReadObserver observer) {
      this.observer = Objects.requireNonNull(observer, "observer");
      return this;
    }

    /**
     * Makes the filesystem writable (by default it is read-only): files are staged under {@code
     * area} and uploaded by {@code uploader}; {@code timer} uploads temp files never renamed;
     * {@code fills} copies uploaded files into the block cache after their close returned. {@link
     * #build} then uploads what an earlier run left staged for this mount (see {@link
     * WritePath#recover}).
     */
    public Builder writable(WriteConfig writeConfig, StagingArea area, ObjectUploader uploader,
        ScheduledExecutorService timer, Executor fills) {
      this.writes = new Writes(Objects.requireNonNull(writeConfig, "writeConfig"),
          Objects.requireNonNull(area, "area"), Objects.requireNonNull(uploader, "uploader"),
          Objects.requireNonNull(timer, "timer"), Objects.requireNonNull(fills, "fills"));
      return this;
    }

    /** The clock of the metadata TTL (tests move it by hand). */
    Builder ticker(Ticker ticker) {
      this.ticker = ticker;
      return this;
    }

    /** The clock of the fetch times stored with persisted metadata. */
    Builder wallClock(Clock wallClock) {
      this.wallClock = wallClock;
      return this;
    }

    /**
     * The filesystem; a writable one has uploaded what an earlier run left staged (a failure there
     * closes it and is thrown).
     */
    public S3Filesystem build() {
      S3Filesystem fs = new S3Filesystem(this);
      if (fs.writes != null) {
        try {
          fs.writes.recover();
        } catch (RuntimeException | Error e) {
          fs.close();
          throw e;
        }
      }
      return fs;
    }
  }

  private S3Filesystem(Builder b) {
    this.config = b.config;
    this.client = b.client;
    this.blocks = b.blocks;
    this.observer = b.observer;
    this.namespace = new Namespace(client, config.prefix(),
        new MetadataCache(config.metadataTtl(), config.metadataMaxStale(), 1_000_000, b.ticker,
            b.metadataDb, config.bucket(), config.prefix(), b.wallClock), Instant.now());
    this.attributes = new Attributes(config);
    this.reads = new ObjectReads(config.bucket(), blocks, b.prefetcher, namespace, observer, attributes, b.metrics);
    Builder.Writes w = b.writes;
    this.writes = w == null ? null : new WritePath(config, w.config(), namespace, client, blocks, w.area(),
        w.uploader(), w.timer(), w.fills(), b.metrics);
  }

  @Override
  public FileAttributes getattr(String path) throws FsException {
    WritePath w = writes;
    WriteStage staged = w == null ? null : w.stage(path);
    if (staged != null) {
      return attributes.staged(path, staged);
    }
    return attributes.of(path, namespace.resolve(path));
  }

  /** At unmount: stops background metadata refreshes. */
  public void close() {
    namespace.close();
  }

  /** At unmount: uploads closed temp files nobody renamed; staged files of open handles stay staged. */
  public void closeWrites() {
    WritePath w = writes;
    if (w != null) {
      w.close();
    }
  }

  private WritePath writable(String op, String path) throws FsException {
    WritePath w = writes;
    if (w == null) {
      throw FsException.readOnly(op, path);
    }
    return w;
  }

  @Override
  public List<DirEntry> readdir(String path) throws FsException {
    namespace.requireDirectory(path);
    String base = path.equals("/") ? "/" : path + "/";
    List<DirEntry> entries = new ArrayList<>();
    WritePath w = writes;
    Map<String, WriteStage> staged = w == null ? new HashMap<>() : new HashMap<>(w.stagesIn(path));
    for (var child : namespace.list(path).children().entrySet()) {
      WriteStage s = staged.remove(child.getKey());
      String childPath = base + child.getKey();
      entries.add(new DirEntry(child.getKey(),
          s != null ? attributes.staged(childPath, s) : attributes.of(childPath, child.getValue())));
    }
    staged.forEach((name, s) -> entries.add(new DirEntry(name, attributes.staged(base + name, s))));
    return entries;
  }

  @Override
  public OpenFile open(String path, OpenFlags flags) throws FsException {
    if (flags.write() || flags.truncate()) {
      WritePath w = writable("open for writing", path);
      WriteStage s = w.open(path, false, false, flags.truncate());
      return register(new StageHandle(nextHandle.getAndIncrement(), s, true, w, reads, attributes));
    }
    WritePath w = writes;
    WriteStage staged = w == null ? null : w.attachReader(path);
    if (staged != null) {
      return register(new StageHandle(nextHandle.getAndIncrement(), staged, false, w, reads, attributes));
    }
    Node node = namespace.resolve(path);
    if (node instanceof Node.Directory) {
      throw new FsException(Errno.EISDIR, path + " is a directory");
    }
    if (!(node instanceof Node.File file)) {
      throw FsException.notFound(path);
    }
    ReadHandle h = reads.open(nextHandle.getAndIncrement(), path, file.meta());
    handles.put(h.id(), h);
    observer.onOpen(path);
    return h.openFile();
  }

  private OpenFile register(StageHandle h) {
    handles.put(h.id(), h);
    return new OpenFile(h.id(), false);
  }

  @Override
  public int read(long handle, long offset, ByteBuffer dst) throws FsException {
    OpenHandle h = handles.get(handle);
    if (offset < 0) {
      throw new FsException(Errno.EINVAL, "negative offset " + offset);
    }
    return handle(h, handle).read(offset, dst);
  }

  @Override
  public void release(long handle) {
    OpenHandle h = handles.remove(handle);
    if (h != null) {
      h.release();
    }
  }

  @Override
  public OpenFile create(String path, OpenFlags flags, int mode) throws FsException {
    WritePath w = writable("create", path);
    WriteStage s = w.open(path, true, flags.exclusive(), flags.truncate());
    return register(new StageHandle(nextHandle.getAndIncrement(), s, true, w, reads, attributes));
  }

  @Override
  public int write(long handle, long offset, ByteBuffer src) throws FsException {
    OpenHandle h = handles.get(handle);
    if (h == null) {
      throw OpenHandle.notWritable(handle);
    }
    return h.write(offset, src);
  }

  @Override
  public void flush(long handle) throws FsException {
    OpenHandle h = handles.get(handle);
    if (h != null) {
      h.flush();
    }
  }

  /** Only a writable filesystem's handles (staged files) have anything to flush. */
  @Override
  public boolean flushes() {
    return writes != null;
  }

  @Override
  public void fsync(long handle) throws FsException {
    OpenHandle h = handles.get(handle);
    if (h != null) {
      h.fsync();
    }
  }

  @Override
  public void truncate(String path, long size) throws FsException {
    writable("truncate", path).truncatePath(path, size);
  }

  @Override
  public void ftruncate(long handle, String path, long size) throws FsException {
    OpenHandle h = handles.get(handle);
    if (h != null && h.truncate(size)) {
      return;
    }
    if (path == null) {
      throw OpenHandle.notWritable(handle);
    }
    truncate(path, size);
  }

  @Override
  public FileAttributes fgetattr(long handle, String path) throws FsException {
    if (path != null) {
      return getattr(path);
    }
    return handle(handles.get(handle), handle).stat();
  }

  private static OpenHandle handle(OpenHandle h, long id) throws FsException {
    if (h == null) {
      throw new FsException(Errno.EBADF, "no open file with handle " + id);
    }
    return h;
  }

  @Override
  public void mkdir(String path, int mode) throws FsException {
    writable("mkdir", path).mkdir(path);
  }

  @Override
  public void unlink(String path) throws FsException {
    writable("unlink", path).unlink(path);
  }

  @Override
  public void rmdir(String path) throws FsException {
    writable("rmdir", path).rmdir(path);
  }

  @Override
  public void rename(String from, String to) throws FsException {
    writable("rename", from).rename(from, to);
  }

  /**
   * chmod, chown and utimens are accepted and change nothing (S3 keeps no modes, owners or times
   * that s3cache shows), so {@code cp -p} and {@code tar -x} work; symlink, link, mknod and
   * extended attributes are refused with ENOTSUP.
   */
  @Override
  public void changeMetadata(String op, String path) throws FsException {
    WritePath w = writable(op, path);
    switch (op) {
      case "chmod", "chown", "utimens" -> {
        if (w.stage(path) == null && namespace.resolve(path) instanceof Node.Absent) {
          throw FsException.notFound(path);
        }
      }
      default -> throw new FsException(Errno.ENOTSUP, FsException.Level.INFO,
          op + " " + path + ": not supported by s3cache (S3 has no such thing)", null);
    }
  }

  /** Large, constant figures: S3 has no capacity to report, and tools refuse a full filesystem. */
  @Override
  public FsStatistics statfs(String path) {
    long blocksTotal = 1L << 40;
    return new FsStatistics(4096, blocksTotal, blocksTotal, 1L << 32, 1L << 32, 255);
  }

  @Override
  public byte[] getxattr(String path, String name) throws FsException {
    Node node = namespace.resolve(path);
    if (node instanceof Node.Absent) {
      throw FsException.notFound(path);
    }
    String value = switch (name) {
      case XATTR_ETAG -> node instanceof Node.File f ? f.meta().etag() : null;
      case XATTR_URL -> "s3://" + config.bucket() + "/" + namespace.key(path)
          + (node instanceof Node.Directory && !path.equals("/") ? "/" : "");
      default -> null;
    };
    if (value == null) {
      throw new FsException(Errno.ENODATA, path + " has no attribute " + name);
    }
    return value.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public List<String> listxattr(String path) throws FsException {
    Node node = namespace.resolve(path);
    if (node instanceof Node.Absent) {
      throw FsException.notFound(path);
    }
    return node instanceof Node.File ? List.of(XATTR_ETAG, XATTR_URL) : List.of(XATTR_URL);
  }

  /**
   * Forgets every cached stat and listing at or under {@code path} (a mount path, "/" for the
   * root) and asks S3 again at once: what {@code s3cache refresh} does for this mount. Open
   * handles keep reading the version they opened.
   *
   * @return the names the kernel may hold stale entries for: the first component of {@code path},
   *     or, for the root, every name it listed before and lists now
   * @throws FsException if S3 cannot be asked (the caches are dropped anyway)
   */
  public RefreshOutcome refresh(String path) throws FsException {
    Namespace.Refreshed r = namespace.refresh(path);
    List<String> kernelNames = path.equals("/") ? List.copyOf(r.names())
        : List.of(path.substring(1).split("/", 2)[0]);
    return new RefreshOutcome(r.dropped(), kernelNames);
  }

  /**
   * @param dropped cached metadata entries forgotten
   * @param rootNames names in the mount's root whose kernel entries should be dropped
   */
  public record RefreshOutcome(int dropped, List<String> rootNames) {}

  /**
   * The object a path is in S3 as the metadata cache knows it (after a {@link #getattr} of it, no
   * request), or null when it is not an object (a directory, absent).
   */
  public ObjectMeta storedObject(String path) throws FsException {
    return namespace.resolve(path) instanceof Node.File f ? f.meta() : null;
  }

  /**
   * The current metadata of the files at {@code paths} (paths inside the mount, "/a/b.jpg"), in
   * order. Each parent directory is listed once (through the metadata cache), so a plan of many
   * files in few directories costs few LISTs.
   *
   * @param shownAs how the caller named each path (the same length as {@code paths}), for messages
   * @throws FsException ENOENT naming (as shown) the first path that does not exist, EISDIR for a
   *     directory
   */
  public List<ObjectMeta> resolveFiles(List<String> paths, List<String> shownAs) throws FsException {
    return namespace.resolveFiles(paths, shownAs);
  }

  /** Open handles right now (for tests and stats). */
  public int openHandles() {
    return handles.size();
  }
}
