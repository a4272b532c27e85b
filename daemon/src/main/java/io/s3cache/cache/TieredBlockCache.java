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
 * The block cache: an ordered list of {@link CacheTier}s (RAM, then disk when it is on), then one
 * shared fetch from the {@link BlockSource}.
 *
 * <p><b>Concurrency and states of a block.</b> A block is in RAM, on disk, both, filling, or
 * none of these; a read that finds it in the first tier (RAM) returns at once. Otherwise the
 * caller joins {@code flights} ({@link SingleFlight}: one decision per block at a time): the
 * <em>leader</em> joins the block's running fill ({@code filling}), else looks in the lower tiers,
 * else takes a fetch permit and starts a {@link FillingBlock} on an {@code s3cache-fill-N} thread;
 * its flight ends with that fill (or the tier's block) at once. Every caller then waits on the
 * fill for just its own range. The fill thread streams the GET into the block's direct buffer,
 * publishing a watermark as bytes arrive, then puts the block into RAM and queues its disk write,
 * leaves {@code filling}, frees its permit, and only then completes, so a caller that got the
 * whole block finds it in RAM or starts a new fetch (possible only if RAM refused or evicted it).
 * A failed fill hands its exception to every reader past the watermark, is kept nowhere, and the
 * next read fetches again. A leader interrupted while waiting for a permit starts nothing, and its
 * waiters retry. Preload's {@link #loadToDisk} goes through the same flights and fills (its fills
 * skip RAM). Each mount reads through its own {@link #through} view, so the fill a caller starts
 * fetches with that caller's mount's client; a caller that joins a running fill waits for it,
 * whoever started it. A {@link Semaphore} of {@code maxConcurrentFetches} permits bounds fills across all
 * blocks.
 *
 * <p><b>Admission rule.</b> A fetched block goes into RAM and (in the background) to disk. A hit
 * in a lower tier (the disk tier serves positional reads of just the range asked, see {@link
 * DiskTier#read}) is <em>not</em> copied into RAM: the kernel's page cache already keeps hot
 * block files in memory, and a scan larger than RAM over blocks on disk would otherwise evict
 * every RAM block for blocks it reads once.
 *
 * <p>Every block is a direct buffer stored once and never mutated (not even its position);
 * callers get a fresh read-only view each, so views never share position or limit.
 */
public final class TieredBlockCache implements BlockCache {

  private static final Logger log = LoggerFactory.getLogger(TieredBlockCache.class);
  private static final Runnable NO_CALLBACK = () -> {};

  /** A tier and its hit and miss counters. */
  private record Level(CacheTier tier, Counter hits, Counter misses) {}

  private final int blockSize;
  /** Where callers of this object (not of a {@link #through} view) fetch from. */
  private final BlockSource source;
  private final MetricRegistry registry;
  private final MemoryTier memory;
  private final DiskTier disk; // null: disk tier off
  private final DiskWriteQueue writes; // null: disk tier off
  private final ExecutorService ownedExecutor; // null: the caller owns the write executor
  private final List<Level> levels; // fastest first: RAM, then disk when it is on
  private final Semaphore fetchPermits;
  private final SingleFlight<BlockKey, FillingBlock> flights;
  private final ConcurrentHashMap<BlockKey, FillingBlock> filling = new ConcurrentHashMap<>();
  private final ExecutorService fillThreads;
  private final AtomicBoolean closed = new AtomicBoolean();

  private final Counter ramHits;
  private final Counter ramMisses;
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

  /** A cache that owns two background disk-writer threads, stopped by {@link #close}. */
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
    flights = new SingleFlight<>(fetchesShared::inc);
    fillThreads = Executors.newCachedThreadPool(daemonThreads("s3cache-fill-"));
    this.memory = new MemoryTier(config.ramCacheBytes(), ramMaintenance);
    if (config.diskTierEnabled()) {
      try {
        disk = new DiskTier(config.cacheDir(), config.blockSize(), config.diskCacheBytes(),
            config.fsyncDiskWrites(), io, diskErrors, diskRejected, diskCorrupt, db,
            config.diskMinFreeBytes(), DiskTierScan.DEFAULT_REPAIR_BUDGET_NANOS, null);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot open the disk cache under " + config.cacheDir(), e);
      }
      writes = new DiskWriteQueue(disk, diskWriteExecutor, config.maxPendingDiskWriteBytes(),
          diskWritesDropped);
    } else {
      disk = null;
      writes = null;
    }
    levels = disk == null
        ? List.of(new Level(memory, ramHits, ramMisses))
        : List.of(new Level(memory, ramHits, ramMisses),
            new Level(new WriteBehindTier(disk, writes), diskHits, diskMisses));
    ramBytesGauge = memory::bytes;
    diskBytesGauge = () -> disk == null ? 0L : disk.bytes();
    registry.register(MetricNames.CACHE_RAM_BYTES, ramBytesGauge);
    registry.register(MetricNames.CACHE_DISK_BYTES, diskBytesGauge);
  }

  @Override
  public int blockSize() {
    return blockSize;
  }

  @Override
  public ByteBuffer get(BlockKey key, int length) throws IOException {
    return get(key, length, NO_CALLBACK);
  }

  @Override
  public ByteBuffer get(BlockKey key, int length, Runnable onSourceFetch) throws IOException {
    return get(key, length, onSourceFetch, source);
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
      public void read(BlockKey key, int length, int offsetInBlock, ByteBuffer dst, Runnable onSourceFetch)
          throws IOException {
        TieredBlockCache.this.read(key, length, offsetInBlock, dst, onSourceFetch, via);
      }

      @Override
      public boolean isCached(BlockKey key) {
        return TieredBlockCache.this.isCached(key);
      }

      @Override
      public void willRead(BlockKey key) {
        TieredBlockCache.this.willRead(key);
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

  private ByteBuffer get(BlockKey key, int length, Runnable onSourceFetch, BlockSource via) throws IOException {
    if (length < 1 || length > blockSize) {
      throw new IllegalArgumentException(
          "block length must be in [1, " + blockSize + "], got " + length);
    }
    if (closed.get()) {
      throw new IOException("block cache is closed");
    }
    for (Level level : levels) {
      ByteBuffer block = readAll(level.tier().lookup(key, length));
      if (block != null) {
        level.hits().inc();
        return view(block);
      }
      level.misses().inc();
    }
    return view(loadOrJoin(key, length, onSourceFetch, via).awaitAll());
  }

  @Override
  public void read(BlockKey key, int length, int offsetInBlock, ByteBuffer dst,
      Runnable onSourceFetch) throws IOException {
    read(key, length, offsetInBlock, dst, onSourceFetch, source);
  }

  private void read(BlockKey key, int length, int offsetInBlock, ByteBuffer dst,
      Runnable onSourceFetch, BlockSource via) throws IOException {
    if (length < 1 || length > blockSize) {
      throw new IllegalArgumentException(
          "block length must be in [1, " + blockSize + "], got " + length);
    }
    if (offsetInBlock < 0 || offsetInBlock > length - dst.remaining()) {
      throw new IndexOutOfBoundsException("range [" + offsetInBlock + ", +" + dst.remaining()
          + ") outside a block of " + length + " bytes");
    }
    if (closed.get()) {
      throw new IOException("block cache is closed");
    }
    if (readFromTiers(key, length, offsetInBlock, dst)) {
      return;
    }
    loadOrJoin(key, length, onSourceFetch, via).read(offsetInBlock, dst);
  }

  /**
   * A range served by a tier that holds the block now, fastest tier first: RAM, then a positional
   * read of just the range from the disk tier (no single-flight: concurrent readers of a block on
   * disk read it independently). A disk hit is not copied into RAM (see the class comment). False,
   * with dst's position unchanged, when no tier does.
   */
  private boolean readFromTiers(BlockKey key, int length, int offsetInBlock, ByteBuffer dst) {
    for (Level level : levels) {
      CacheTier.Block block = level.tier().lookup(key, length);
      if (block != null && block.read(offsetInBlock, dst)) {
        level.hits().inc();
        return true;
      }
      level.misses().inc();
    }
    return false;
  }

  /**
   * The block from a lower tier, or the fill of it in progress (joined, or started by this call):
   * one caller per block at a time decides which, the others wait for its decision, then each
   * waits on the fill for just the bytes it needs.
   */
  private FillingBlock loadOrJoin(BlockKey key, int length, Runnable onSourceFetch, BlockSource via)
      throws IOException {
    FillingBlock block = flights.load(key, () -> {
      FillingBlock running = join(key);
      if (running != null) {
        return running;
      }
      ByteBuffer held = load(key, length);
      return held != null ? FillingBlock.complete(held) : startFill(key, length, onSourceFetch, true, via);
    });
    if (block.length() != length) { // a waiter on a load of another length
      throw new IOException("block " + key + " has " + block.length()
          + " bytes, caller expected " + length);
    }
    return block;
  }

  /** The fill of {@code key} in progress, counted as a shared fetch; null when there is none. */
  private FillingBlock join(BlockKey key) {
    FillingBlock running = filling.get(key);
    if (running != null) {
      fetchesShared.inc();
    }
    return running;
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
   * Preload: makes sure the block is in the disk tier, fetching it only if no tier holds it, and
   * writing it synchronously (not through the bounded background queue, which may skip writes).
   * Fetches share the single-flight map with readers. RAM is not filled by this call.
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
    if (closed.get()) {
      throw new IOException("block cache is closed");
    }
    if (disk.contains(key)) {
      return 0;
    }
    boolean[] led = {false};
    ByteBuffer block = readAll(memory.lookup(key, length));
    if (block == null) {
      block = flights.load(key, () -> {
        FillingBlock running = join(key);
        if (running != null) {
          return running;
        }
        led[0] = true;
        return startFill(key, length, NO_CALLBACK, false, via);
      }).awaitAll();
    }
    long fetched = led[0] ? length : 0;
    while (!disk.contains(key) && !disk.insert(key, block.duplicate())) {
      if (!disk.isBusy(key)) {
        throw new IOException("could not store " + key.key() + " block " + key.index()
            + " in the disk tier (no room under disk_cache, or a write error: see the log)");
      }
      // A background write of the same block (a reader fetched it too) is in progress.
      java.util.concurrent.locks.LockSupport.parkNanos(200_000);
    }
    return fetched;
  }

  /**
   * Stores a block written through the mount: in the disk tier (synchronously, so a big file is
   * not dropped by the bounded write queue) when it is on, else in the RAM tier.
   */
  @Override
  public void fill(BlockKey key, ByteBuffer block) {
    if (closed.get()) {
      return;
    }
    if (disk != null) {
      if (!disk.contains(key)) {
        disk.insert(key, block.duplicate());
      }
    } else {
      memory.insert(key, block);
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

  /** Drops a block from every tier (evict on request); returns whether any tier held it. */
  public boolean evict(BlockKey key) {
    boolean held = memory.invalidate(key);
    boolean queued = writes != null && writes.cancel(key); // else it would land on disk afterwards
    if (writes != null && !queued && disk.isBusy(key)) {
      try {
        writes.awaitIdle(); // a write of it is running right now: let it finish, then remove it
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    for (Level level : levels.subList(1, levels.size())) {
      held |= level.tier().invalidate(key);
    }
    return held || queued;
  }

  /** Whether the disk tier holds the block now. */
  public boolean isOnDisk(BlockKey key) {
    return disk != null && disk.contains(key);
  }

  /** Bytes the disk tier can hold for blocks (0 when it is off). */
  public long diskUsableBytes() {
    return disk == null ? 0 : disk.usableBytes();
  }

  @Override
  public void willRead(BlockKey key) {
    if (disk != null && !memory.contains(key)) {
      disk.willRead(key);
    }
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
        memory.bytes(), memory.blockCount(),
        disk == null ? 0 : disk.bytes(), disk == null ? 0 : disk.blockCount(),
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
    if (disk != null) {
      disk.close();
    }
    registry.removeMatching((name, metric) -> metric == ramBytesGauge || metric == diskBytesGauge);
  }

  /** Package-private for tests: bytes queued for the disk tier. */
  long pendingDiskWriteBytes() {
    return writes == null ? 0 : writes.pendingBytes();
  }

  /**
   * A leader's lookup after its caller missed in every tier: the tiers again (a fill or disk write
   * that ended just before this one began may have filled one; not counted, the caller counted its
   * misses); null when none holds the block. A lower tier's hit is not copied into RAM (the
   * admission rule).
   */
  private ByteBuffer load(BlockKey key, int length) throws IOException {
    for (Level level : levels) {
      ByteBuffer block = readAll(level.tier().lookup(key, length));
      if (block != null) {
        return block;
      }
    }
    return null;
  }

  /**
   * Starts fetching a block on a fill thread once a fetch permit is free (waiting for it here, so
   * a caller interrupted meanwhile starts nothing) and returns its fill at once. The fill stays in
   * {@code filling} until it ends, so later callers join it; {@code keep}: a complete block goes
   * into RAM and to the disk tier's queue before it leaves {@code filling}.
   */
  private FillingBlock startFill(BlockKey key, int length, Runnable onSourceFetch, boolean keep,
      BlockSource via) throws IOException {
    fetches.inc();
    try {
      fetchPermits.acquire();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted waiting for a fetch slot for " + key);
    }
    FillingBlock fill;
    try {
      fill = FillingBlock.empty(length);
      filling.put(key, fill);
      onSourceFetch.run();
      fillThreads.execute(() -> runFill(key, fill, keep, via));
    } catch (RuntimeException | Error e) {
      filling.remove(key);
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
   * in RAM (or starts over, as when RAM refuses a block).
   */
  private void runFill(BlockKey key, FillingBlock fill, boolean keep, BlockSource via) {
    Throwable failure = null;
    try {
      ByteBuffer dst = fill.target();
      via.fetch(key, key.index() * (long) blockSize, dst, fill::arrived);
      if (dst.position() != fill.length() || fill.received() != fill.length()) {
        throw new IOException("source returned " + dst.position() + " of " + fill.length()
            + " bytes for " + key);
      }
      if (keep) {
        memory.insert(key, fill.block());
        if (writes != null && !closed.get() && !writes.submit(key, fill.block())) {
          // The write queue is full: write it now, on this fill thread, rather than keep it in
          // RAM only, where an eviction would lose it and a warm re-read would fetch it again.
          disk.insert(key, fill.block());
        }
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
  }

  private static ByteBuffer readAll(CacheTier.Block block) {
    return block == null ? null : block.readAll();
  }

  private static ByteBuffer view(ByteBuffer block) {
    return block.asReadOnlyBuffer().clear();
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
