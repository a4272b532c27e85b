package io.s3cache.cache;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import io.s3cache.metrics.MetricNames;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The block cache: an ordered list of {@link CacheTier}s (RAM, blocks fetched ahead of their
 * reader, then disk when it is on), then one shared fetch from the {@link BlockSource}.
 *
 * <p><b>Concurrency and states of a block.</b> A block is in RAM, on disk (or in the disk write
 * queue), filling, or none of these; a read that finds it in a tier copies its range at once.
 * Otherwise the caller joins {@code flights} ({@link SingleFlight}: one decision per block at a
 * time): the <em>leader</em> joins the block's running fill ({@code filling}), else sees whether a
 * tier holds the block now (then every caller of that round reads from the tiers again), else
 * takes a fetch permit and a block buffer and starts a {@link FillingBlock} on an {@code
 * s3cache-fill-N} thread; its flight ends with that decision at once. Every caller then waits on
 * the fill for just its own range. The fill thread streams the GET into the block's buffer,
 * publishing a watermark as bytes arrive, then puts the block into RAM and queues its disk write
 * (a preload's fill writes it to disk itself instead), leaves {@code filling}, frees its permit,
 * and only then completes. A failed fill hands its exception to every reader past the watermark,
 * is kept nowhere, and the next read fetches again. A leader interrupted while waiting for a
 * permit or a buffer starts nothing, and its waiters retry. Preload's {@link #loadToDisk} goes
 * through the same flights, tier checks and fills. Each mount reads through its own {@link
 * #through} view, so the fill a caller starts fetches with that caller's mount's client; a caller
 * that joins a running fill waits for it, whoever started it. A {@link Semaphore} of {@code
 * maxConcurrentFetches} permits bounds fills across all blocks.
 *
 * <p><b>Block buffers.</b> Whole blocks live in buffers of a {@link BufferPool}, reused from block
 * to block, each use reference counted ({@link BlockBuffer}): the fill holds one until it ends,
 * the RAM tier and the write queue one each while they hold the block, a reader one while it
 * copies (taken before it waits on a fill). A buffer goes back to the pool only when the last
 * goes, so no reader ever sees it reused; a reader that finds the buffer gone reads the block
 * from the tiers again (or fetches it). The caller that started a fill gets a reference with it,
 * so it always gets its bytes even when no tier keeps the block. Nothing outside this package
 * sees a block buffer: {@link #read} copies a range out, {@link #get} copies the whole block.
 *
 * <p><b>Admission rule.</b> A fetched block goes into RAM and (in the background) to disk; a block
 * fetched ahead of its reader (read-ahead, plan prefetch) is also held in {@link RecentBlocks}
 * until read, since the RAM tier's policy drops blocks not read yet first; so is a block read-ahead
 * finds only on disk, read whole from its file ({@link #load}). A reader's own hit
 * in a lower tier (the disk tier serves positional reads of just the range asked, see {@link
 * DiskTier#read}) is <em>not</em> copied into RAM: the kernel's page cache already keeps hot
 * block files in memory, and a scan larger than RAM over blocks on disk would otherwise evict
 * every RAM block for blocks it reads once.
 *
 * <p><b>Composition.</b> The tiers are {@code levels}, fastest first: look-up, presence, evict
 * (invalidate), sizes and the inserts of blocks given as bytes go through {@link CacheTier} and
 * nothing else; the disk level is the {@link DiskTier} behind its {@link DiskWriteQueue} ({@link
 * WriteBehindTier}). What stays outside the interface is what only one tier does, through a typed
 * collaborator: {@code memory} shares a fill's pooled buffer by reference ({@link
 * MemoryTier#insert(BlockKey, BlockBuffer)}; {@link CacheTier#insert} takes bytes nobody reuses,
 * and a pooled buffer is reused) and, before a fill waits for a buffer, runs the evictions
 * Caffeine deferred ({@code cleanUp}); {@code recent} is filled only by fills ahead of their reader
 * and by read-ahead's whole reads from disk ({@link RecentBlocks#hold}) and gives a buffer back to
 * a waiting fill ({@code shed}); {@code
 * disk} answers what concerns the files themselves: preload needs a block on disk, not merely
 * queued ({@code contains} there, {@code isBusy} for a write of it running now), the write path
 * frees filesystem room ({@code makeRoom}), read-ahead reads a whole block's file into a pool
 * buffer ({@code readWhole}) or hints the page cache ({@code willRead}), and
 * the cap ({@code usableBytes}, {@code capBytes}); preload writes from the RAM tier's or the write
 * queue's own buffer ({@code memory.get}, {@code writes.unwritten}) rather than a copy. On close
 * each tier lets go in its own way: RAM and recent blocks give their buffers back, the disk tier
 * closes its open files and keeps the blocks.
 */
public final class TieredBlockCache implements BlockCache {

  private static final Logger log = LoggerFactory.getLogger(TieredBlockCache.class);
  private static final Runnable NO_CALLBACK = () -> {};
  /** Looks a preload takes at a block whose tiers change under it before it gives up. */
  private static final int MAX_PRELOAD_TURNS = 100;

  /** A tier and its hit and miss counters. */
  private record Level(CacheTier tier, Counter hits, Counter misses) {}

  /** Where a fill puts its block once complete. */
  private enum Keep {
    /** Into RAM, and queued for the disk tier: a reader's fill. */
    TIERS,
    /**
     * As {@code TIERS}, and held in {@link RecentBlocks} until read: a fill ahead of its reader
     * (read-ahead, plan prefetch), which the RAM tier may drop before the reader comes.
     */
    AHEAD,
    /** Written to the disk tier on the fill thread, not into RAM: a preload's fill. */
    DISK
  }

  /**
   * A caller's share of a load: the fill to read from (null: a tier held the block when the leader
   * looked; read the tiers again), and whether this caller started it and so already holds a
   * buffer reference for its read.
   */
  private record Joined(FillingBlock fill, boolean led) {}

  private final int blockSize;
  /** Where callers of this object (not of a {@link #through} view) fetch from. */
  private final BlockSource source;
  private final MetricRegistry registry;
  private final List<Level> levels; // fastest first: RAM, recent blocks, then disk when it is on
  private final Level ram; // levels' first
  private final Level onDisk; // levels' last: the disk tier and its write queue; null: disk tier off
  // Typed collaborators, for what only one tier does (see the class comment):
  private final MemoryTier memory;
  private final RecentBlocks recent;
  private final DiskTier disk; // null: disk tier off
  private final DiskWriteQueue writes; // null: disk tier off
  private final ExecutorService ownedExecutor; // null: the caller owns the write executor
  private final Semaphore fetchPermits;
  private final SingleFlight<BlockKey, Optional<FillingBlock>> flights;
  private final BufferPool buffers;
  private final ConcurrentHashMap<BlockKey, FillingBlock> filling = new ConcurrentHashMap<>();
  private final ExecutorService fillThreads;
  private final AtomicBoolean closed = new AtomicBoolean();

  private final Counter ramHits;
  private final Counter ramMisses;
  private final Counter recentHits;
  private final Counter diskReadAhead;
  /** Bytes of whole-block reads ahead from disk in flight (their buffers not in RecentBlocks yet). */
  private final java.util.concurrent.atomic.AtomicLong diskReadAheadBytes =
      new java.util.concurrent.atomic.AtomicLong();
  private final Counter diskHits;
  private final Counter diskMisses;
  private final Counter diskErrors;
  private final Counter diskCorrupt;
  private final Counter diskRejected;
  private final Counter diskWritesDropped;
  private final Counter fetches;
  private final Counter fetchesShared;
  private final Gauge<Long> ramBytesGauge;
  private final Gauge<Long> diskBytesGauge;
  private final Gauge<Long> bufferBytesGauge;
  private final Counter bufferWaits;
  private final Counter bufferFallbacks;

  /**
   * A cache whose background disk writes run on {@code diskWriteExecutor}, which the caller owns
   * (and shuts down after {@link #close}).
   *
   * @throws UncheckedIOException if the disk tier's directory cannot be created or scanned
   * @throws IllegalArgumentException if the registry already holds this cache's gauges
   */
  public TieredBlockCache(CacheConfig config, BlockSource source, MetricRegistry registry,
      Executor diskWriteExecutor) {
    this(config, source, registry, diskWriteExecutor, null);
  }

  /**
   * As above, with the disk tier's block index kept in {@code db} (which the caller owns and
   * closes after this cache), so a restart is warm without reading every block file.
   *
   * @param db the index database under the cache directory, or null to index by scanning
   */
  public TieredBlockCache(CacheConfig config, BlockSource source, MetricRegistry registry,
      Executor diskWriteExecutor, CacheDatabase db) {
    this(config, source, registry, diskWriteExecutor, null, ForkJoinPool.commonPool(),
        BlockFileIo.DEFAULT, db);
  }

  /**
   * A cache that owns two background disk-writer threads ({@code s3cache-disk-write-N}), stopped
   * by {@link #close}. For tests: the daemon passes its own writer executor (docs/THREADING.md).
   */
  public static TieredBlockCache create(CacheConfig config, BlockSource source,
      MetricRegistry registry) {
    ExecutorService writers = Executors.newFixedThreadPool(2, daemonThreads("s3cache-disk-write-"));
    try {
      return new TieredBlockCache(config, source, registry, writers, writers,
          ForkJoinPool.commonPool(), BlockFileIo.DEFAULT, null);
    } catch (RuntimeException e) {
      writers.shutdownNow();
      throw e;
    }
  }

  /** For tests: injectable RAM-tier maintenance executor and filesystem seam. */
  TieredBlockCache(CacheConfig config, BlockSource source, MetricRegistry registry,
      Executor diskWriteExecutor, ExecutorService ownedExecutor, Executor ramMaintenance,
      BlockFileIo io, CacheDatabase db) {
    this.blockSize = config.blockSize();
    this.source = source;
    this.registry = registry;
    this.ownedExecutor = ownedExecutor;
    this.fetchPermits = new Semaphore(config.maxConcurrentFetches());
    ramHits = registry.counter(MetricNames.CACHE_RAM_HITS);
    ramMisses = registry.counter(MetricNames.CACHE_RAM_MISSES);
    diskHits = registry.counter(MetricNames.CACHE_DISK_HITS);
    diskMisses = registry.counter(MetricNames.CACHE_DISK_MISSES);
    diskErrors = registry.counter(MetricNames.CACHE_DISK_ERRORS);
    diskCorrupt = registry.counter(MetricNames.CACHE_DISK_CORRUPT);
    diskRejected = registry.counter(MetricNames.CACHE_DISK_REJECTED);
    diskWritesDropped = registry.counter(MetricNames.CACHE_DISK_WRITES_DROPPED);
    fetches = registry.counter(MetricNames.CACHE_FETCHES);
    fetchesShared = registry.counter(MetricNames.CACHE_FETCH_SHARED);
    flights = new SingleFlight<>(() -> {}); // shared fetches are counted once per caller, below
    bufferWaits = registry.counter(MetricNames.CACHE_BUFFER_WAITS);
    bufferFallbacks = registry.counter(MetricNames.CACHE_BUFFER_FALLBACKS);
    buffers = new BufferPool(config.blockSize(), config.maxPooledBuffers(),
        BufferPool.DEFAULT_MAX_WAIT_NANOS, new BufferPool.Events() {
          @Override
          public void beforeWait() {
            memory.cleanUp(); // evictions Caffeine deferred give their buffers back
            recent.shed(); // a just-fetched block its reader has not had yet waits on disk instead
          }

          @Override
          public void waiting() {
            bufferWaits.inc();
          }

          @Override
          public void fellBack() {
            bufferFallbacks.inc();
            log.warn("block cache: no block buffer came back within {} s; this fill allocates its own",
                TimeUnit.NANOSECONDS.toSeconds(BufferPool.DEFAULT_MAX_WAIT_NANOS));
          }
        });
    fillThreads = Executors.newCachedThreadPool(daemonThreads("s3cache-fill-"));
    this.memory = new MemoryTier(config.ramCacheBytes(), ramMaintenance);
    this.recent = new RecentBlocks(config.recentBlockBytes());
    recentHits = registry.counter(MetricNames.CACHE_RECENT_HITS);
    diskReadAhead = registry.counter(MetricNames.CACHE_DISK_READ_AHEAD);
    if (config.diskTierEnabled()) {
      try {
        disk = new DiskTier(config.cacheDir(), config.blockSize(), config.diskCacheBytes(),
            config.fsyncDiskWrites(), io, diskErrors, diskRejected, diskCorrupt, db,
            config.diskMinFreeBytes(), DiskTierScan.DEFAULT_REPAIR_BUDGET_NANOS, null);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot open the disk cache under " + config.cacheDir(), e);
      }
      disk.recordAccessesOn(diskWriteExecutor); // a reader's open writes no RocksDB record
      writes = new DiskWriteQueue(disk, diskWriteExecutor, config.maxPendingDiskWriteBytes(),
          diskWritesDropped);
    } else {
      disk = null;
      writes = null;
    }
    ram = new Level(memory, ramHits, ramMisses);
    Level recentLevel = new Level(recent, recentHits, new Counter()); // its misses: RAM's already
    onDisk = disk == null ? null
        : new Level(new WriteBehindTier(disk, writes), diskHits, diskMisses);
    levels = onDisk == null ? List.of(ram, recentLevel) : List.of(ram, recentLevel, onDisk);
    ramBytesGauge = ram.tier()::bytes;
    diskBytesGauge = () -> onDisk == null ? 0L : onDisk.tier().bytes();
    registry.register(MetricNames.CACHE_RAM_BYTES, ramBytesGauge);
    registry.register(MetricNames.CACHE_DISK_BYTES, diskBytesGauge);
    bufferBytesGauge = buffers::allocatedBytes;
    registry.register(MetricNames.CACHE_BUFFER_BYTES, bufferBytesGauge);
  }

  @Override
  public int blockSize() {
    return blockSize;
  }

  @Override
  public ByteBuffer get(BlockKey key, int length) throws IOException {
    return get(key, length, NO_CALLBACK);
  }

  /** The block copied into a buffer of the caller's own (block buffers are reused). */
  @Override
  public ByteBuffer get(BlockKey key, int length, Runnable onSourceFetch) throws IOException {
    return get(key, length, onSourceFetch, source);
  }

  private ByteBuffer get(BlockKey key, int length, Runnable onSourceFetch, BlockSource via) throws IOException {
    checkLength(length);
    ByteBuffer copy = ByteBuffer.allocateDirect(length);
    read(key, length, 0, copy, onSourceFetch, via);
    return copy.flip().asReadOnlyBuffer();
  }

  /**
   * This cache as seen by one mount: the same tiers and blocks, but a block this view's callers
   * fetch comes from {@code via} (that mount's client, timeouts and credentials). A caller that
   * joins a fetch another view started waits for that fetch.
   */
  public BlockCache through(BlockSource via) {
    java.util.Objects.requireNonNull(via, "via");
    return new BlockCache() {
      @Override
      public int blockSize() {
        return blockSize;
      }

      @Override
      public ByteBuffer get(BlockKey key, int length) throws IOException {
        return TieredBlockCache.this.get(key, length, NO_CALLBACK, via);
      }

      @Override
      public ByteBuffer get(BlockKey key, int length, Runnable onSourceFetch) throws IOException {
        return TieredBlockCache.this.get(key, length, onSourceFetch, via);
      }

      @Override
      public void load(BlockKey key, int length) throws IOException {
        TieredBlockCache.this.load(key, length, via);
      }

      @Override
      public void read(BlockKey key, int length, int offsetInBlock, ByteBuffer dst, Runnable onSourceFetch)
          throws IOException {
        TieredBlockCache.this.read(key, length, offsetInBlock, dst, onSourceFetch, via);
      }

      @Override
      public boolean isCached(BlockKey key) {
        return TieredBlockCache.this.isCached(key);
      }

      @Override
      public boolean isInMemory(BlockKey key) {
        return TieredBlockCache.this.isInMemory(key);
      }

      @Override
      public void fill(BlockKey key, ByteBuffer block) {
        TieredBlockCache.this.fill(key, block);
      }

      @Override
      public void close() {
        // a view: the shared cache closes with its owner
      }
    };
  }

  /**
   * Read-ahead: makes sure the block is in a tier, fetching it if none holds it, without copying
   * it anywhere; returns once the fetch is complete.
   */
  @Override
  public void load(BlockKey key, int length) throws IOException {
    load(key, length, source);
  }

  private void load(BlockKey key, int length, BlockSource via) throws IOException {
    checkLength(length);
    checkOpen();
    for (Level level : levels) {
      if (level.tier().contains(key)) {
        level.hits().inc();
        if (level == onDisk && writes.unwritten(key) == null) { // on disk, not in memory
          readAheadFromDisk(key, length);
        }
        return;
      }
      level.misses().inc();
    }
    Joined joined = loadOrJoin(key, length, NO_CALLBACK, Keep.AHEAD, via);
    if (joined.fill() != null) {
      try {
        joined.fill().awaitComplete();
      } finally {
        if (joined.led()) {
          joined.fill().releaseForCaller();
        }
      }
    }
  }

  @Override
  public void read(BlockKey key, int length, int offsetInBlock, ByteBuffer dst,
      Runnable onSourceFetch) throws IOException {
    read(key, length, offsetInBlock, dst, onSourceFetch, source);
  }

  private void read(BlockKey key, int length, int offsetInBlock, ByteBuffer dst,
      Runnable onSourceFetch, BlockSource via) throws IOException {
    checkLength(length);
    if (offsetInBlock < 0 || offsetInBlock > length - dst.remaining()) {
      throw new IndexOutOfBoundsException("range [" + offsetInBlock + ", +" + dst.remaining()
          + ") outside a block of " + length + " bytes");
    }
    checkOpen();
    if (readFromTiers(key, length, offsetInBlock, dst, true)) {
      return;
    }
    readMiss(key, length, offsetInBlock, dst, onSourceFetch, via);
  }

  private void checkLength(int length) {
    if (length < 1 || length > blockSize) {
      throw new IllegalArgumentException(
          "block length must be in [1, " + blockSize + "], got " + length);
    }
  }

  private void checkOpen() throws IOException {
    if (closed.get()) {
      throw new IOException("block cache is closed");
    }
  }

  /**
   * A range served by a tier that holds the block now, fastest tier first: RAM, then the write
   * queue or a positional read of just the range from the disk tier (no single-flight: concurrent
   * readers of a block on disk read it independently). A disk hit is not copied into RAM (see the
   * class comment). False, with dst's position unchanged, when no tier does.
   *
   * @param countMisses whether to count misses (a caller's first look; not its later looks: a
   *     read counts a miss per tier once, and the hit that serves it)
   */
  private boolean readFromTiers(BlockKey key, int length, int offsetInBlock, ByteBuffer dst,
      boolean countMisses) {
    for (Level level : levels) {
      CacheTier.Block block = level.tier().lookup(key, length);
      if (block != null && block.read(offsetInBlock, dst)) {
        level.hits().inc();
        return true;
      }
      if (countMisses) {
        level.misses().inc();
      }
    }
    return false;
  }

  /**
   * No tier served the range: load the block once for all callers and copy the range from its
   * fill; when the fill's buffer is gone by then (the block left every tier already), or a tier
   * held the block after all, look in the tiers again. Each turn ends with the bytes, or with a
   * new fill that this caller holds a reference to, so it ends.
   */
  private void readMiss(BlockKey key, int length, int offsetInBlock, ByteBuffer dst,
      Runnable onSourceFetch, BlockSource via) throws IOException {
    boolean counted = false;
    while (true) {
      Joined joined = loadOrJoin(key, length, onSourceFetch, Keep.TIERS, via);
      FillingBlock fill = joined.fill();
      if (fill != null) {
        if (!joined.led() && !counted) {
          fetchesShared.inc(); // once per caller, however many turns it takes
          counted = true;
        }
        if (joined.led()) {
          fill.readHeld(offsetInBlock, dst);
          return;
        }
        if (fill.read(offsetInBlock, dst)) {
          return;
        }
      }
      if (readFromTiers(key, length, offsetInBlock, dst, false)) {
        return;
      }
      checkOpen();
      checkInterrupted(key); // a disk read cut short by an interrupt misses without a discard
    }
  }

  private static void checkInterrupted(BlockKey key) throws InterruptedIOException {
    if (Thread.currentThread().isInterrupted()) {
      throw new InterruptedIOException("interrupted reading " + key);
    }
  }

  /**
   * One caller per block at a time decides: join the fill in progress, or find that a tier holds
   * the block now, or start a fill (as {@code keep} says); the others wait for its decision and
   * share it.
   */
  private Joined loadOrJoin(BlockKey key, int length, Runnable onSourceFetch, Keep keep, BlockSource via)
      throws IOException {
    FillingBlock[] started = {null};
    Optional<FillingBlock> decided = flights.load(key, () -> {
      FillingBlock running = filling.get(key);
      if (running != null) {
        return Optional.of(running);
      }
      if (isCached(key)) { // a fill or disk write that ended just before may have put it there
        return Optional.empty();
      }
      started[0] = startFill(key, length, onSourceFetch, keep, via);
      return Optional.of(started[0]);
    });
    FillingBlock fill = decided.orElse(null);
    boolean led = fill != null && fill == started[0];
    if (fill != null && fill.length() != length) { // a waiter on a load of another length
      if (led) {
        fill.releaseForCaller();
      }
      throw new IOException("block " + key + " has " + fill.length()
          + " bytes, caller expected " + length);
    }
    return new Joined(fill, led);
  }

  /**
   * Waits until every block handed to the disk tier so far is on disk (or was skipped). Preload
   * uses it to report only what is really kept; tests use it to measure a quiet cache directory.
   */
  public void awaitDiskWrites() throws InterruptedException {
    if (writes != null) {
      writes.awaitIdle();
    }
  }

  /**
   * Preload: makes sure the block is in the disk tier, written synchronously (not through the
   * bounded background queue, which may skip writes). It takes the same path as a read: a block
   * in RAM or in the write queue is written from there, a running fill is joined, and only a block
   * no tier holds is fetched, by a fill that writes it to disk itself and skips RAM.
   *
   * @return bytes fetched from the source (0 when some tier already held the block)
   * @throws IOException when the fetch fails, or the disk tier has no room for the block
   */
  public long loadToDisk(BlockKey key, int length) throws IOException {
    return loadToDisk(key, length, source);
  }

  /** {@link #loadToDisk(BlockKey, int)} fetching through {@code via} (the preloading mount's client). */
  public long loadToDisk(BlockKey key, int length, BlockSource via) throws IOException {
    if (disk == null) {
      throw new IOException("preload needs the disk tier (disk_cache > 0)");
    }
    checkLength(length);
    checkOpen();
    long fetched = 0;
    for (int turn = 0; !disk.contains(key); turn++) {
      if (turn == MAX_PRELOAD_TURNS) {
        throw cannotStore(key); // tiers kept changing under it: give up rather than spin
      }
      if (writeHeldBlock(key, length)) {
        break;
      }
      Joined joined = loadOrJoin(key, length, NO_CALLBACK, Keep.DISK, via);
      if (joined.fill() == null) {
        continue; // a tier held it a moment ago: write it from there, or find it on disk
      }
      try {
        joined.fill().awaitComplete();
      } finally {
        if (joined.led()) {
          joined.fill().releaseForCaller();
        }
      }
      if (joined.led()) {
        fetched += length;
        if (!disk.contains(key) && !disk.isBusy(key)) {
          throw cannotStore(key);
        }
      }
      checkOpen();
      checkInterrupted(key);
    }
    return fetched;
  }

  /**
   * Writes the block from the RAM tier or the write queue to disk, synchronously, under a buffer
   * reference of its own; false if neither holds it (any more).
   */
  private boolean writeHeldBlock(BlockKey key, int length) throws IOException {
    BlockBuffer held = memory.get(key);
    if (held == null || held.length() != length || !held.retain()) {
      held = writes.unwritten(key);
      if (held == null || held.length() != length || !held.retain()) {
        return false;
      }
    }
    try {
      while (!disk.contains(key) && !onDisk.tier().insert(key, held.buffer().duplicate())) {
        if (!disk.isBusy(key)) {
          throw cannotStore(key);
        }
        // A background write of the same block (a reader fetched it too) is in progress.
        java.util.concurrent.locks.LockSupport.parkNanos(200_000);
      }
      return true;
    } finally {
      held.release();
    }
  }

  private static IOException cannotStore(BlockKey key) {
    return new IOException("could not store " + key.key() + " block " + key.index()
        + " in the disk tier (no room under disk_cache, or a write error: see the log)");
  }

  /**
   * Stores a block written through the mount: in the disk tier (synchronously, so a big file is
   * not dropped by the bounded write queue) when it is on, else in the RAM tier.
   */
  @Override
  public void fill(BlockKey key, ByteBuffer block) {
    if (!closed.get()) { // the disk tier's insert skips a block already on disk
      (onDisk != null ? onDisk : ram).tier().insert(key, block.duplicate());
    }
  }

  /**
   * Evicts disk-tier blocks until {@code bytes} are free on the cache directory's filesystem (or
   * nothing of ours is left): staged writes on the same filesystem come before cached blocks.
   */
  public void makeRoom(long bytes) {
    if (disk != null) {
      disk.makeRoom(bytes);
    }
  }

  /**
   * Drops a block from every tier, fastest first (evict on request; the disk level drops its
   * queued write too); returns whether any tier held it.
   */
  public boolean evict(BlockKey key) {
    boolean held = false;
    for (Level level : levels) {
      held |= level.tier().invalidate(key);
    }
    return held;
  }

  /** Whether the disk tier holds the block now. */
  public boolean isOnDisk(BlockKey key) {
    return disk != null && disk.contains(key);
  }

  /** Bytes the disk tier can hold for blocks (0 when it is off). */
  public long diskUsableBytes() {
    return disk == null ? 0 : disk.usableBytes();
  }

  /**
   * Read-ahead of a block only the disk tier holds: read whole into a block buffer (one direct
   * read around the page cache where the filesystem allows it, every chunk checked) and held in
   * {@link RecentBlocks} until its reader has read it, so a sequential reader of more data than
   * RAM holds reads memory rather than waiting on the device, and the RAM tier is not churned (the
   * block is not admitted there). A shorter block (an object's last, a small object), a block that
   * would push out one its reader has not had yet (RecentBlocks' unread bytes plus the reads
   * ahead in flight), or no buffer free at once (fills come first): the kernel is asked to read
   * the file ahead instead.
   */
  private void readAheadFromDisk(BlockKey key, int length) {
    BlockBuffer block = null;
    if (length == blockSize) { // a shorter block would need a buffer of its own: hint it instead
      long inFlight = diskReadAheadBytes.addAndGet(length);
      if (recent.roomForUnread(inFlight)) {
        block = buffers.tryAcquire(length);
      }
      if (block == null) {
        diskReadAheadBytes.addAndGet(-length);
      }
    }
    if (block == null) {
      disk.willRead(key);
      return;
    }
    try {
      if (!closed.get() && disk.readWhole(key, length, block.buffer().duplicate())
          && recent.hold(key, block)) {
        diskReadAhead.inc();
        if (!disk.contains(key)) {
          recent.invalidate(key); // evicted meanwhile (evict drops recent blocks before disk ones)
        }
      }
    } finally {
      diskReadAheadBytes.addAndGet(-length);
      block.release();
    }
  }

  /**
   * Whether a read of the block would be served from memory now: the RAM tier, {@link
   * RecentBlocks} or the disk write queue holds it. A block only the disk tier holds is loaded by
   * read-ahead (on the prefetch thread, not under the caller's monitor): read whole into memory, or
   * its file hinted to the kernel.
   */
  @Override
  public boolean isInMemory(BlockKey key) {
    return memory.contains(key) || recent.contains(key)
        || (writes != null && writes.unwritten(key) != null);
  }

  /** Whether any tier holds the block now. */
  @Override
  public boolean isCached(BlockKey key) {
    for (Level level : levels) {
      if (level.tier().contains(key)) {
        return true;
      }
    }
    return false;
  }

  public CacheStats stats() {
    return new CacheStats(
        ramHits.getCount(), ramMisses.getCount(), diskHits.getCount(), diskMisses.getCount(),
        diskErrors.getCount(), diskRejected.getCount(), diskWritesDropped.getCount(),
        fetches.getCount(), fetchesShared.getCount(),
        ram.tier().bytes(), ram.tier().blockCount(),
        onDisk == null ? 0 : onDisk.tier().bytes(), onDisk == null ? 0 : onDisk.tier().blockCount(),
        disk == null ? 0 : disk.capBytes());
  }

  /**
   * Stops background disk writes (queued ones are dropped, running ones finish), stops the
   * cache's own threads if it has any, and releases the RAM tier. Idempotent.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    fillThreads.shutdownNow(); // running fetches are interrupted: their waiters get the failure
    try {
      if (!fillThreads.awaitTermination(30, TimeUnit.SECONDS)) {
        log.warn("block cache: fills still running 30 s after close");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (writes != null) {
      writes.close();
    }
    if (ownedExecutor != null) {
      ownedExecutor.shutdown();
      try {
        if (!ownedExecutor.awaitTermination(30, TimeUnit.SECONDS)) {
          log.warn("block cache: disk writers still running 30 s after close");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    memory.clear();
    recent.clear();
    if (disk != null) {
      disk.close();
    }
    buffers.close();
    registry.removeMatching((name, metric) -> metric == ramBytesGauge || metric == diskBytesGauge
        || metric == bufferBytesGauge);
  }

  /** Package-private for tests: the block buffer pool. */
  BufferPool bufferPool() {
    return buffers;
  }

  /** Package-private for tests: bytes queued for the disk tier. */
  long pendingDiskWriteBytes() {
    return writes == null ? 0 : writes.pendingBytes();
  }

  /**
   * Starts fetching a block on a fill thread once a fetch permit and a block buffer are free
   * (waiting for them here, so a caller interrupted meanwhile starts nothing) and returns its fill
   * at once, with a buffer reference for the caller. The fill stays in {@code filling} until it
   * ends, so later callers join it; {@code keep} says where a complete block goes before it leaves
   * {@code filling}.
   */
  private FillingBlock startFill(BlockKey key, int length, Runnable onSourceFetch, Keep keep,
      BlockSource via) throws IOException {
    fetches.inc();
    try {
      fetchPermits.acquire();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted waiting for a fetch slot for " + key);
    }
    FillingBlock fill = null;
    try {
      fill = new FillingBlock(buffers.acquire(length));
      fill.retainForCaller();
      filling.put(key, fill);
      onSourceFetch.run();
      FillingBlock started = fill;
      fillThreads.execute(() -> runFill(key, started, keep, via));
    } catch (IOException | RuntimeException | Error e) {
      if (fill != null) {
        filling.remove(key, fill);
        fill.releaseForCaller();
        fill.block().release(); // the fill's own: it never ran
      }
      fetchPermits.release();
      if (e instanceof RejectedExecutionException) {
        throw new IOException("block cache is closed", e);
      }
      throw e;
    }
    return fill;
  }

  /**
   * A fill thread's work: the fetch, then the tiers, then the fill leaves {@code filling} and its
   * permit is freed, and only then is it complete, so a caller that got the whole block finds it
   * in a tier (or starts over, as when RAM refuses a block). Last, the fill drops its own buffer
   * reference: a failed fill's buffer goes back to the pool once its readers are done.
   */
  private void runFill(BlockKey key, FillingBlock fill, Keep keep, BlockSource via) {
    Throwable failure = null;
    BlockBuffer block = fill.block();
    try {
      ByteBuffer dst = fill.target();
      via.fetch(key, key.index() * (long) blockSize, dst, fill::arrived);
      if (dst.position() != fill.length() || fill.received() != fill.length()) {
        throw new IOException("source returned " + dst.position() + " of " + fill.length()
            + " bytes for " + key);
      }
      if (keep != Keep.DISK) {
        if (!closed.get()) { // after close() cleared the RAM tier, nothing would release it again
          memory.insert(key, block);
          if (keep == Keep.AHEAD) {
            recent.hold(key, block); // RAM may drop it before its reader comes (RecentBlocks)
          }
        }
        if (writes != null && !closed.get() && !writes.submit(key, block)) {
          // The write queue is full: write it now, on this fill thread, rather than keep it in
          // RAM only, where an eviction would lose it and a warm re-read would fetch it again.
          onDisk.tier().insert(key, block.buffer().duplicate());
        }
      } else if (!closed.get()) {
        onDisk.tier().insert(key, block.buffer().duplicate()); // preload: its caller checks it landed
      }
    } catch (Throwable t) {
      failure = t;
    }
    filling.remove(key, fill);
    fetchPermits.release();
    if (failure == null) {
      fill.complete();
    } else {
      fill.fail(failure);
    }
    block.release();
  }

  private static ThreadFactory daemonThreads(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
