package io.s3cache.mount;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.cache.BlockSource;
import io.s3cache.cache.CacheDatabase;
import io.s3cache.cache.CacheConfig;
import io.s3cache.cache.TieredBlockCache;
import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import io.s3cache.readahead.Prefetcher;
import io.s3cache.readahead.ReadAheadConfig;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The cache every mount of one process shares: one budget per tier, one locked cache directory.
 * Each mount reads through its own view of the cache ({@link TieredBlockCache#through}), so the
 * blocks it misses are fetched with its own client. Two mounts of one bucket through different
 * endpoints are refused: their blocks would share keys.
 */
public final class CacheRuntime implements AutoCloseable {

  /** The live mounts of one bucket, all through one endpoint. */
  private record Source(String endpoint, int mounts) {}

  private final CacheConfig config;
  private final CacheDirectoryLock lock;
  private final CacheDatabase database; // null: disk tier off
  private final ExecutorService diskWriter;
  private final TieredBlockCache cache;
  private final ExecutorService prefetchPool; // null: read-ahead off
  private final Prefetcher prefetcher; // null: read-ahead off
  private final int prefetchThreads;
  private final Map<String, Source> sources = new ConcurrentHashMap<>();
  private io.s3cache.write.StagingArea staging; // created by the first writable mount

  private CacheRuntime(CacheConfig config, ReadAheadConfig readAhead, int maxConnections, CacheDirectoryLock lock,
      CacheDatabase database, MetricRegistry metrics) {
    this.config = config;
    this.lock = lock;
    this.database = database;
    this.diskWriter = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "disk-tier-writer");
      t.setDaemon(true);
      return t;
    });
    this.cache = new TieredBlockCache(config, NO_MOUNT, metrics, diskWriter, database);
    if (readAhead.enabled()) {
      // One prefetcher for every mount: prefetch_memory bounds all of them together.
      int threads = Math.min(32, Math.min(maxConnections, config.maxConcurrentFetches()));
      this.prefetchThreads = threads;
      AtomicInteger n = new AtomicInteger();
      this.prefetchPool = Executors.newFixedThreadPool(threads, r -> {
        Thread t = new Thread(r, "prefetch-" + n.incrementAndGet());
        t.setDaemon(true);
        return t;
      });
      this.prefetcher = new Prefetcher(readAhead, cache, prefetchPool, metrics);
    } else {
      this.prefetchPool = null;
      this.prefetchThreads = 0;
      this.prefetcher = null;
    }
  }

  /**
   * Locks the cache directory (proving it writable), opens its index database and the tiers and
   * the read-ahead.
   *
   * @param maxConnections the S3 connection pool size, which bounds useful prefetch threads
   */
  public static CacheRuntime open(CacheConfig config, ReadAheadConfig readAhead, int maxConnections,
      MetricRegistry metrics) throws IOException {
    CacheDirectoryLock lock = config.diskCacheBytes() > 0 ? CacheDirectoryLock.acquire(config.cacheDir()) : null;
    CacheDatabase database = null;
    try {
      if (lock != null) {
        database = CacheDatabase.open(config.cacheDir().resolve("index"));
        // After RocksDB made its files: whatever an older version (or another umask) left open to
        // other users becomes owner-only, with one WARN.
        io.s3cache.files.PrivateFiles.tighten(config.cacheDir());
      }
      return new CacheRuntime(config, readAhead, maxConnections, lock, database, metrics);
    } catch (IOException | RuntimeException e) {
      if (database != null) {
        database.close();
      }
      if (lock != null) {
        lock.close();
      }
      throw e;
    }
  }

  /** The runtime a daemon's settings describe (cache_dir, ram_cache, read_ahead, ...). */
  public static CacheRuntime open(Settings settings, MetricRegistry metrics) throws IOException {
    CacheConfig cache = MountSpec.cacheConfig(settings);
    return open(cache, MountSpec.readAhead(settings, cache.blockSize()),
        settings.integer(SettingKey.MAX_CONNECTIONS, 1, 4096), metrics);
  }

  public CacheConfig config() {
    return config;
  }

  public TieredBlockCache cache() {
    return cache;
  }

  /** The index database under the cache directory, or null when the disk tier is off. */
  public CacheDatabase database() {
    return database;
  }

  /** The shared read-ahead, or null when read_ahead is 0. */
  public Prefetcher prefetcher() {
    return prefetcher;
  }

  /** Threads of the prefetch pool (0 with read-ahead off): what epoch plans share. */
  public int prefetchThreads() {
    return prefetchThreads;
  }

  /**
   * The staging directory of writable mounts, {@code cache_dir/staging}, shared by all of them.
   *
   * @throws IOException if it cannot be created
   */
  public synchronized io.s3cache.write.StagingArea staging() throws IOException {
    if (staging == null) {
      if (config.cacheDir() == null) {
        throw new IOException("a writable mount needs cache_dir (files are staged under it)");
      }
      staging = new io.s3cache.write.StagingArea(config.cacheDir().resolve("staging"), cache::makeRoom);
    }
    return staging;
  }

  /** A mount of {@code bucket} through {@code endpoint} is starting: refused if another endpoint serves it. */
  synchronized void register(String bucket, String endpoint) throws IOException {
    Source current = sources.get(bucket);
    if (current != null && !current.endpoint().equals(endpoint)) {
      throw new IOException("bucket '" + bucket + "' is already mounted from " + current.endpoint()
          + "; one daemon serves a bucket name from one endpoint");
    }
    sources.put(bucket, new Source(endpoint, current == null ? 1 : current.mounts() + 1));
  }

  /** A mount of {@code bucket} is going away. */
  synchronized void unregister(String bucket) {
    Source current = sources.get(bucket);
    if (current != null) {
      if (current.mounts() <= 1) {
        sources.remove(bucket);
      } else {
        sources.put(bucket, new Source(current.endpoint(), current.mounts() - 1));
      }
    }
  }

  /**
   * The shared cache's own source: every fetch goes through a mount's view, with that mount's
   * client, so a fetch that reaches this one is a bug, reported as such rather than served with
   * credentials nobody chose for it.
   */
  private static final BlockSource NO_MOUNT = (key, offset, dst) -> {
    throw new IOException("block " + key + " was fetched without a mount's client");
  };

  @Override
  public void close() throws IOException {
    if (prefetcher != null) {
      prefetcher.close();
      prefetchPool.shutdownNow(); // running fetches are interrupted; readers fetch for themselves
      try {
        prefetchPool.awaitTermination(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    cache.close();
    diskWriter.shutdown();
    try {
      diskWriter.awaitTermination(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (database != null) {
      database.close(); // after the last disk write: every RocksDB handle closes here
    }
    if (lock != null) {
      lock.close();
    }
  }
}
