package io.s3cache.fs;

import com.codahale.metrics.Counter;
import com.codahale.metrics.MetricRegistry;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import io.s3cache.cache.BlockCache;
import io.s3cache.cache.BlockKey;
import io.s3cache.cache.CacheDatabase;
import io.s3cache.fuse.DirEntry;
import io.s3cache.fuse.Errno;
import io.s3cache.fuse.FileAttributes;
import io.s3cache.fuse.Filesystem;
import io.s3cache.fuse.FsException;
import io.s3cache.fuse.FsStatistics;
import io.s3cache.fuse.OpenFile;
import io.s3cache.metrics.MetricNames;
import io.s3cache.plan.EpochPlan;
import io.s3cache.plan.PlanSlot;
import io.s3cache.plan.PlannedFile;
import io.s3cache.readahead.Prefetcher;
import io.s3cache.readahead.ReadAheadState;
import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectClientException;
import io.s3cache.s3.ObjectMeta;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A bucket (or a prefix of one) as a read-only filesystem: namespace from LIST/HEAD through the
 * metadata cache, file bytes from the block cache. Implements the FUSE port; knows nothing of jnr.
 *
 * <p>An open handle pins one object version (its ETag): every read of that handle asks the block
 * cache for blocks of that version, so a handle never mixes bytes of two versions. With a {@link
 * Prefetcher}, each handle also reads ahead of a sequential reader (see {@code io.s3cache.readahead}).
 * Every open is reported to the mount's {@link PlanSlot}, which moves an epoch plan's window.
 * Thread-safe.
 */
public final class S3Filesystem implements Filesystem {

  static final String XATTR_ETAG = "user.s3cache.etag";
  static final String XATTR_URL = "user.s3cache.url";
  private static final int O_ACCMODE = 03;
  private static final int O_RDONLY = 0;
  private static final int O_TRUNC = 01000;
  private static final int O_EXCL = 0200;

  /**
   * @param readAhead null when read-ahead is off
   * @param pageCached whether the handle reads through the kernel's page cache (else direct_io)
   */
  private record Handle(String path, ObjectMeta meta, ReadAheadState readAhead, boolean pageCached) {}

  /** A handle on a staged file (see {@link Writes}); {@code writable} unless opened read-only. */
  private record StageHandle(Stage stage, boolean writable) {}

  private final FsConfig config;
  private final BlockCache blocks;
  private final Prefetcher prefetcher; // null: read-ahead off
  private final Namespace namespace;
  private final Map<Long, Object> handles = new ConcurrentHashMap<>();
  private final ObjectClient client;
  private volatile Writes writes; // null: read-only
  private final AtomicLong nextHandle = new AtomicLong(1);
  /**
   * The ETag each path had when last opened through the page cache: the version the kernel's page
   * cache holds. An unchanged object keeps the kernel's page cache.
   */
  private final Cache<String, String> lastOpened;
  /**
   * Per path, the open handles that read through the kernel's page cache (absent: none). The page
   * cache is per inode, shared by every handle of the path, so while such handles are open a handle
   * of another version must not use it: it gets direct_io, or the two would mix their pages.
   */
  private final Map<String, Integer> pageCacheReaders = new ConcurrentHashMap<>();
  private final Counter bytesRead;
  private final Counter blocksRead;
  private final Counter blocksFetched;
  private final Counter planOnDemand;
  private final PlanSlot plans = new PlanSlot();

  /** A filesystem without read-ahead. */
  public S3Filesystem(FsConfig config, ObjectClient client, BlockCache blocks, MetricRegistry metrics) {
    this(config, client, blocks, metrics, null, Ticker.systemTicker());
  }

  /** @param prefetcher reads ahead of sequential readers into {@code blocks}; null for none */
  public S3Filesystem(FsConfig config, ObjectClient client, BlockCache blocks, MetricRegistry metrics,
      Prefetcher prefetcher) {
    this(config, client, blocks, metrics, prefetcher, Ticker.systemTicker());
  }

  S3Filesystem(FsConfig config, ObjectClient client, BlockCache blocks, MetricRegistry metrics, Ticker ticker) {
    this(config, client, blocks, metrics, null, ticker);
  }

  S3Filesystem(FsConfig config, ObjectClient client, BlockCache blocks, MetricRegistry metrics,
      Prefetcher prefetcher, Ticker ticker) {
    this(config, client, blocks, metrics, prefetcher, ticker, null);
  }

  /**
   * @param metadataDb where stat results and listings persist across restarts (the cache's index
   *     database), or null to keep them in memory only
   */
  public S3Filesystem(FsConfig config, ObjectClient client, BlockCache blocks, MetricRegistry metrics,
      Prefetcher prefetcher, CacheDatabase metadataDb) {
    this(config, client, blocks, metrics, prefetcher, Ticker.systemTicker(), metadataDb);
  }

  S3Filesystem(FsConfig config, ObjectClient client, BlockCache blocks, MetricRegistry metrics,
      Prefetcher prefetcher, Ticker ticker, CacheDatabase metadataDb) {
    this(config, client, blocks, metrics, prefetcher, ticker, metadataDb, java.time.Clock.systemUTC());
  }

  /** @param wallClock the clock of the fetch times stored with persisted metadata */
  S3Filesystem(FsConfig config, ObjectClient client, BlockCache blocks, MetricRegistry metrics,
      Prefetcher prefetcher, Ticker ticker, CacheDatabase metadataDb, java.time.Clock wallClock) {
    this.config = config;
    this.client = client;
    this.blocks = blocks;
    this.prefetcher = prefetcher;
    this.namespace = new Namespace(client, config.prefix(),
        new MetadataCache(config.metadataTtl(), config.metadataMaxStale(), 1_000_000, ticker,
            metadataDb, config.bucket(), config.prefix(), wallClock), Instant.now());
    this.lastOpened = Caffeine.newBuilder().maximumSize(1_000_000).executor(Runnable::run).build();
    this.bytesRead = metrics.counter(MetricNames.FUSE_BYTES_READ);
    this.blocksRead = metrics.counter(MetricNames.FUSE_BLOCKS_READ);
    this.blocksFetched = metrics.counter(MetricNames.FUSE_BLOCKS_FETCHED);
    this.planOnDemand = metrics.counter(MetricNames.PLAN_ONDEMAND_GETS);
  }

  @Override
  public FileAttributes getattr(String path) throws FsException {
    Writes w = writes;
    Stage staged = w == null ? null : w.stage(path);
    if (staged != null) {
      return stagedAttributes(path, staged);
    }
    return attributes(path, namespace.resolve(path));
  }

  /**
   * Makes this filesystem writable (call once, before mounting): files are staged under {@code
   * area} and uploaded by {@code uploader}; {@code timer} uploads temp files never renamed; {@code
   * fills} copies uploaded files into the block cache after their close returned.
   * Then uploads what an earlier run left staged for this mount (see {@link Writes#recover}).
   */
  public void enableWrites(io.s3cache.write.WriteConfig writeConfig, io.s3cache.write.StagingArea area,
      io.s3cache.write.Uploader uploader, java.util.concurrent.ScheduledExecutorService timer,
      java.util.concurrent.Executor fills, MetricRegistry metrics) {
    Writes w = new Writes(config, writeConfig, namespace, client, blocks, area, uploader, timer, fills, metrics);
    w.recover();
    this.writes = w;
  }

  /** At unmount: stops background metadata refreshes. */
  public void close() {
    namespace.close();
  }

  /** At unmount: uploads closed temp files nobody renamed; staged files of open handles stay staged. */
  public void closeWrites() {
    Writes w = writes;
    if (w != null) {
      w.close();
    }
  }

  private Writes writable(String op, String path) throws FsException {
    Writes w = writes;
    if (w == null) {
      throw FsException.readOnly(op, path);
    }
    return w;
  }

  private FileAttributes stagedAttributes(String path, Stage s) {
    return new FileAttributes(FileAttributes.Type.FILE, s.size(), s.mtime, config.fileMode(), config.uid(),
        config.gid(), inode(path));
  }

  @Override
  public List<DirEntry> readdir(String path) throws FsException {
    namespace.requireDirectory(path);
    String base = path.equals("/") ? "/" : path + "/";
    List<DirEntry> entries = new ArrayList<>();
    Writes w = writes;
    Map<String, Stage> staged = w == null ? new HashMap<>() : new HashMap<>(w.stagesIn(path));
    for (var child : namespace.list(path).children().entrySet()) {
      Stage s = staged.remove(child.getKey());
      String childPath = base + child.getKey();
      entries.add(new DirEntry(child.getKey(),
          s != null ? stagedAttributes(childPath, s) : attributes(childPath, child.getValue())));
    }
    staged.forEach((name, s) -> entries.add(new DirEntry(name, stagedAttributes(base + name, s))));
    return entries;
  }

  @Override
  public OpenFile open(String path, int flags) throws FsException {
    if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) != 0) {
      Stage s = writable("open for writing", path).open(path, false, false, (flags & O_TRUNC) != 0);
      long id = nextHandle.getAndIncrement();
      handles.put(id, new StageHandle(s, true));
      return new OpenFile(id, false);
    }
    Writes w = writes;
    Stage staged = w == null ? null : w.attachReader(path);
    if (staged != null) {
      long id = nextHandle.getAndIncrement();
      handles.put(id, new StageHandle(staged, false));
      return new OpenFile(id, false);
    }
    Node node = namespace.resolve(path);
    if (node instanceof Node.Directory) {
      throw new FsException(Errno.EISDIR, path + " is a directory");
    }
    if (!(node instanceof Node.File file)) {
      throw FsException.notFound(path);
    }
    long id = nextHandle.getAndIncrement();
    ObjectMeta meta = file.meta();
    ReadAheadState readAhead = prefetcher == null ? null
        : prefetcher.open(config.bucket(), meta.key(), meta.etag(), meta.size());
    boolean[] keep = new boolean[1];
    boolean[] direct = new boolean[1];
    pageCacheReaders.compute(path, (p, open) -> {
      String cached = lastOpened.getIfPresent(p);
      if (open != null && !meta.etag().equals(cached)) {
        direct[0] = true; // others still read another version through the page cache
        return open;
      }
      // Keep the pages only when no other handle is open: an open that drops them (keep_cache
      // unset) may still be on its way through the kernel, and its pages of an older version with it.
      keep[0] = open == null && meta.etag().equals(cached);
      lastOpened.put(p, meta.etag());
      return open == null ? 1 : open + 1;
    });
    handles.put(id, new Handle(path, meta, readAhead, !direct[0]));
    plans.onOpen(path);
    return new OpenFile(id, keep[0], direct[0]);
  }

  @Override
  public int read(long handle, long offset, ByteBuffer dst) throws FsException {
    Object any = handles.get(handle);
    if (offset < 0) {
      throw new FsException(Errno.EINVAL, "negative offset " + offset);
    }
    if (any instanceof StageHandle sh) {
      Stage s = sh.stage();
      s.lock.readLock().lock();
      try {
        Integer n = writes.read(s, offset, dst);
        if (n != null) {
          bytesRead.inc(n);
          return n;
        }
        return readBlocks(s.path, s.base, offset, dst); // opened for writing, nothing written yet
      } finally {
        s.lock.readLock().unlock();
      }
    }
    if (!(any instanceof Handle h)) {
      throw new FsException(Errno.EBADF, "no open file with handle " + handle);
    }
    if (h.readAhead() != null) {
      h.readAhead().onRead(offset, dst.remaining()); // starts fetches ahead; never blocks
    }
    return readBlocks(h.path(), h.meta(), offset, dst);
  }

  private int readBlocks(String path, ObjectMeta meta, long offset, ByteBuffer dst) throws FsException {
    long end = Math.min(meta.size(), offset + dst.remaining());
    int blockSize = blocks.blockSize();
    long pos = offset;
    int touched = 0;
    int[] fetched = ReaderFetches.begin();
    try {
      while (pos < end) {
        touched++;
        long index = pos / blockSize;
        long blockStart = index * blockSize;
        int blockLength = (int) Math.min(blockSize, meta.size() - blockStart);
        ByteBuffer block = blocks.get(new BlockKey(config.bucket(), meta.key(), meta.etag(), index), blockLength);
        int from = (int) (pos - blockStart);
        int n = (int) Math.min(blockLength - from, end - pos);
        dst.put(block.slice(from, n));
        pos += n;
      }
    } catch (ObjectClientException e) {
      if (e.kind() == ObjectClientException.Kind.PRECONDITION_FAILED) {
        namespace.forget(path); // the object changed: a new open should see the new version at once
      }
      throw Namespace.s3Failure("read", meta.key(), e);
    } catch (IOException e) {
      throw new FsException(Errno.EIO, FsException.Level.WARN, "read " + meta.key() + " at " + pos + ": " + e.getMessage(), e);
    } finally {
      ReaderFetches.end();
      countBlocks(touched, fetched[0]);
    }
    int n = (int) (pos - offset);
    bytesRead.inc(n);
    return n;
  }

  private void countBlocks(int touched, int fetched) {
    blocksRead.inc(touched);
    if (fetched > 0) {
      blocksFetched.inc(fetched);
      EpochPlan plan = plans.activePlan();
      if (plan != null) {
        plan.onDemandGets(fetched);
        planOnDemand.inc(fetched);
      }
    }
  }

  @Override
  public void release(long handle) {
    Object any = handles.remove(handle);
    if (any instanceof StageHandle sh) {
      writes.release(sh.stage());
    } else if (any instanceof Handle h) {
      if (h.pageCached()) {
        pageCacheReaders.computeIfPresent(h.path(), (p, open) -> open == 1 ? null : open - 1);
      }
      if (h.readAhead() != null) {
        h.readAhead().release();
      }
    }
  }

  @Override
  public OpenFile create(String path, int flags, int mode) throws FsException {
    Stage s = writable("create", path).open(path, true, (flags & O_EXCL) != 0, (flags & O_TRUNC) != 0);
    long id = nextHandle.getAndIncrement();
    handles.put(id, new StageHandle(s, true));
    return new OpenFile(id, false);
  }

  @Override
  public int write(long handle, long offset, ByteBuffer src) throws FsException {
    if (!(handles.get(handle) instanceof StageHandle sh) || !sh.writable()) {
      throw new FsException(Errno.EBADF, "handle " + handle + " is not open for writing");
    }
    if (offset < 0) {
      throw new FsException(Errno.EINVAL, "negative offset " + offset);
    }
    return writes.write(sh.stage(), offset, src);
  }

  @Override
  public void flush(long handle) throws FsException {
    // Only a writer's close uploads: a reader's close never fails over an upload it did not ask for.
    if (handles.get(handle) instanceof StageHandle sh && sh.writable()) {
      writes.flush(sh.stage(), false);
    }
  }

  @Override
  public void fsync(long handle) throws FsException {
    if (handles.get(handle) instanceof StageHandle sh) {
      writes.flush(sh.stage(), true);
    }
  }

  @Override
  public void truncate(String path, long size) throws FsException {
    writable("truncate", path).truncatePath(path, size);
  }

  @Override
  public void ftruncate(long handle, String path, long size) throws FsException {
    if (handles.get(handle) instanceof StageHandle sh && sh.writable()) {
      writes.truncate(sh.stage(), size); // uploaded at its close, like a write
      return;
    }
    if (path == null) {
      throw new FsException(Errno.EBADF, "handle " + handle + " is not open for writing");
    }
    truncate(path, size);
  }

  @Override
  public FileAttributes fgetattr(long handle, String path) throws FsException {
    if (path != null) {
      return getattr(path);
    }
    Object any = handles.get(handle);
    if (any instanceof StageHandle sh) {
      return stagedAttributes(sh.stage().path, sh.stage());
    }
    if (any instanceof Handle h) {
      return attributes(h.path(), new Node.File(h.meta()));
    }
    throw new FsException(Errno.EBADF, "no open file with handle " + handle);
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
    Writes w = writable(op, path);
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

  /** This mount's epoch plan slot. */
  public PlanSlot plans() {
    return plans;
  }

  /**
   * The files at {@code paths} (paths inside the mount, "/a/b.jpg") with their current metadata, in
   * order. Each parent directory is listed once (through the metadata cache), so a plan of many
   * files in few directories costs few LISTs.
   *
   * @throws FsException ENOENT naming the first path that does not exist, EISDIR for a directory
   */
  public List<PlannedFile> resolveFiles(List<String> paths) throws FsException {
    Map<String, Map<String, Node>> listings = new HashMap<>();
    List<PlannedFile> files = new ArrayList<>(paths.size());
    for (String path : paths) {
      int slash = path.lastIndexOf('/');
      if (!path.startsWith("/") || slash == path.length() - 1) {
        throw new FsException(Errno.EINVAL, "not a file path: " + path);
      }
      String parent = slash == 0 ? "/" : path.substring(0, slash);
      Map<String, Node> children = listings.get(parent);
      if (children == null) {
        Node dir = namespace.resolve(parent);
        if (!(dir instanceof Node.Directory)) {
          throw FsException.notFound(path);
        }
        children = namespace.list(parent).children();
        listings.put(parent, children);
      }
      Node node = children.get(path.substring(slash + 1));
      if (node instanceof Node.File f) {
        files.add(new PlannedFile(path, f.meta()));
      } else if (node instanceof Node.Directory) {
        throw new FsException(Errno.EISDIR, path + " is a directory");
      } else {
        throw FsException.notFound(path);
      }
    }
    return files;
  }

  /** Open handles right now (for tests and stats). */
  public int openHandles() {
    return handles.size();
  }

  private FileAttributes attributes(String path, Node node) throws FsException {
    long inode = inode(path);
    if (node instanceof Node.File f) {
      return new FileAttributes(FileAttributes.Type.FILE, f.meta().size(), f.meta().lastModified(),
          config.fileMode(), config.uid(), config.gid(), inode);
    }
    if (node instanceof Node.Directory d) {
      return new FileAttributes(FileAttributes.Type.DIRECTORY, 0, d.mtime(), config.dirMode(),
          config.uid(), config.gid(), inode);
    }
    throw FsException.notFound(path);
  }

  /** A stable 64-bit FNV-1a hash of the path; the root is 1 as FUSE expects. */
  private static long inode(String path) {
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
