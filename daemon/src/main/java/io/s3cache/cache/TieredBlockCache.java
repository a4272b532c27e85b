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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
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
 * <p><b>Concurrency and states of a block.</b> A block is in RAM, on disk, both, or neither; a
 * read that finds it in RAM, or on disk (a positional read of just its range, see {@link
 * DiskTier#read}), returns at once, each tier counting a hit or a miss. Otherwise the caller joins
 * {@code flights} ({@link SingleFlight}: one load per block at a time): the <em>leader</em> loads
 * the block on its own thread (the tiers again, else the source) while every other caller waits
 * for its result. The leader puts a fetched block into RAM <em>before</em> its flight ends, so a
 * later caller finds it in RAM or starts a new load (possible only if RAM refused or evicted the
 * block).
 *
 * <p><b>Admission rule.</b> A fetched block goes into RAM and (in the background) to disk. A disk
 * hit is <em>not</em> copied into RAM: the kernel's page cache already keeps hot block files in
 * memory, and a scan larger than RAM over blocks on disk would otherwise evict every RAM block
 * for blocks it reads once. On failure all waiters get the leader's exception and the next get retries. If the
 * leader itself is interrupted, waiters are not failed with its interrupt: they retry, one of them
 * becoming the new leader. Preload's {@link #loadToDisk} fetches through the same flights. A
 * {@link Semaphore} of {@code maxConcurrentFetches} permits bounds source fetches across all
 * blocks. Fetched blocks go to the disk tier through {@link DiskWriteQueue} in the background.
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
  private final BlockSource source;
  private final MetricRegistry registry;
  private final MemoryTier memory;
  private final DiskTier disk; // null: disk tier off
  private final DiskWriteQueue writes; // null: disk tier off
  private final ExecutorService ownedExecutor; // null: the caller owns the write executor
  private final List<Level> levels; // fastest first: RAM, then disk when it is on
  private final Semaphore fetchPermits;
  private final SingleFlight<BlockKey, ByteBuffer> flights;
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
        : List.of(new Level(memory, ramHits, ramMisses), new Level(disk, diskHits, diskMisses));
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
    if (length < 1 || length > blockSize) {
      throw new IllegalArgumentException(
          "block length must be in [1, " + blockSize + "], got " + length);
    }
    if (closed.get()) {
      throw new IOException("block cache is closed");
    }
    ByteBuffer block = null;
    for (Level level : levels) {
      block = readAll(level.tier().lookup(key, length));
      if (block != null) {
        level.hits().inc();
        return view(block);
      }
      level.misses().inc();
    }
    block = flights.load(key, () -> load(key, length, onSourceFetch));
    if (block.capacity() != length) { // a waiter on a load of another length
      throw new IOException("block " + key + " has " + block.capacity()
          + " bytes, caller expected " + length);
    }
    return view(block);
  }

  @Override
  public void read(BlockKey key, int length, int offsetInBlock, ByteBuffer dst,
      Runnable onSourceFetch) throws IOException {
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
    readMiss(key, length, offsetInBlock, dst, onSourceFetch);
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

  /** No tier served the range: load the block (lower tiers, else the source) once for all callers. */
  private void readMiss(BlockKey key, int length, int offsetInBlock, ByteBuffer dst,
      Runnable onSourceFetch) throws IOException {
    ByteBuffer block = flights.load(key, () -> load(key, length, onSourceFetch));
    if (block.capacity() != length) { // a waiter on a load of another length
      throw new IOException("block " + key + " has " + block.capacity()
          + " bytes, caller expected " + length);
    }
    dst.put(block.duplicate().position(offsetInBlock).limit(offsetInBlock + dst.remaining()));
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
        led[0] = true;
        return fetch(key, length, NO_CALLBACK);
      });
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

  /** Whether any tier holds the block now. */
  @Override
  public void willRead(BlockKey key) {
    if (disk != null && !memory.contains(key)) {
      disk.willRead(key);
    }
  }

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
   * A leader's load, after its caller missed in every tier: the tiers again (a load or disk write
   * that ended just before this one began may have filled one; not counted, the caller counted its
   * misses), else the source. A lower tier's hit is not copied into RAM (the admission rule); a
   * fetched block goes into RAM now and to the disk tier in the background.
   */
  private ByteBuffer load(BlockKey key, int length, Runnable onSourceFetch) throws IOException {
    for (Level level : levels) {
      ByteBuffer block = readAll(level.tier().lookup(key, length));
      if (block != null) {
        return block;
      }
    }
    ByteBuffer block;
    block = fetch(key, length, onSourceFetch);
    memory.insert(key, block);
    if (writes != null && !closed.get() && !writes.submit(key, block)) {
      // The write queue is full: write it now, on this thread, rather than keep it in RAM only,
      // where an eviction would lose it and a warm re-read would fetch it again.
      disk.insert(key, block);
    }
    return block;
  }

  private ByteBuffer fetch(BlockKey key, int length, Runnable onSourceFetch) throws IOException {
    fetches.inc();
    try {
      fetchPermits.acquire();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted waiting for a fetch slot for " + key);
    }
    try {
      ByteBuffer dst = ByteBuffer.allocateDirect(length);
      onSourceFetch.run();
      source.fetch(key, key.index() * (long) blockSize, dst);
      if (dst.position() != length || dst.limit() != length) {
        throw new IOException("source returned " + dst.position() + " of " + length
            + " bytes for " + key);
      }
      return dst.flip();
    } finally {
      fetchPermits.release();
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
