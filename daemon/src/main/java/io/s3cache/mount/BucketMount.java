package io.s3cache.mount;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.cache.BlockCache;
import io.s3cache.cache.TieredBlockCache;
import io.s3cache.fs.S3Filesystem;
import io.s3cache.fuse.FuseMount;
import io.s3cache.fuse.MountException;
import io.s3cache.metrics.MetricsObserver;
import io.s3cache.readahead.Prefetcher;
import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectClientException;
import io.s3cache.s3.ObjectClients;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;

/**
 * One bucket mounted: owns the S3 client, the block cache, the filesystem and the FUSE mount, opens
 * them in that order and closes them in reverse. A failure while opening closes whatever was opened,
 * so nothing is left mounted or locked.
 */
public final class BucketMount implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(BucketMount.class);

  private final MountSpec spec;
  private final Deque<AutoCloseable> resources;
  private final FuseMount fuse;
  private final S3Filesystem filesystem;
  private final TieredBlockCache cache;

  private BucketMount(MountSpec spec, Deque<AutoCloseable> resources, FuseMount fuse, S3Filesystem filesystem,
      TieredBlockCache cache) {
    this.spec = spec;
    this.resources = resources;
    this.fuse = fuse;
    this.filesystem = filesystem;
    this.cache = cache;
  }

  /**
   * Checks the mount point, the cache directory and the bucket, then mounts. Every failure is a
   * {@link MountException} with one line a user can act on.
   *
   * @param credentials null for the SDK's default chain
   */
  public static BucketMount open(MountSpec spec, MetricRegistry metrics, AwsCredentialsProvider credentials)
      throws MountException {
    FuseMount.checkMountPoint(spec.mountPoint());
    Deque<AutoCloseable> opened = new ArrayDeque<>();
    try {
      opened.push(CacheDirectoryLock.acquire(spec.cache().cacheDir()));
      ObjectClient client = ObjectClients.create(spec.bucket(), spec.s3(), metrics, credentials);
      opened.push(client);
      client.checkBucket();
      ExecutorService diskWriter = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "disk-tier-writer");
        t.setDaemon(true);
        return t;
      });
      opened.push(() -> {
        diskWriter.shutdown();
        diskWriter.awaitTermination(30, TimeUnit.SECONDS);
      });
      TieredBlockCache cache = new TieredBlockCache(spec.cache(),
          (key, offset, dst) -> client.getRange(key.key(), key.etag(), offset, dst), metrics, diskWriter);
      opened.push(cache);
      Prefetcher prefetcher = openPrefetcher(spec, cache, metrics, opened);
      S3Filesystem fs = new S3Filesystem(spec.fs(), client, cache, metrics, prefetcher);
      FuseMount fuse = FuseMount.mount(fs, spec.mountPoint(), spec.fuseOptions(), new MetricsObserver(metrics),
          spec.mountTimeout());
      opened.push(fuse);
      if (spec.kernelReadAhead() > 0) {
        fuse.setKernelReadAhead(spec.kernelReadAhead());
      }
      return new BucketMount(spec, opened, fuse, fs, cache);
    } catch (ObjectClientException e) {
      closeAll(opened);
      throw new MountException(e.getMessage(), e);
    } catch (IOException e) {
      closeAll(opened);
      throw new MountException(e.getMessage(), e);
    } catch (MountException | RuntimeException e) {
      closeAll(opened);
      throw e;
    }
  }

  public MountSpec spec() {
    return spec;
  }

  public Path mountPoint() {
    return fuse.mountPoint();
  }

  public BlockCache cache() {
    return cache;
  }

  public TieredBlockCache tieredCache() {
    return cache;
  }

  public S3Filesystem filesystem() {
    return filesystem;
  }

  /** Completes when the mount goes away (s3cache unmount, umount, fusermount -u). */
  public CompletableFuture<Void> terminated() {
    return fuse.terminated();
  }

  /** Unmounts; fails with a clear message if the mount is busy, leaving it mounted and working. */
  public void unmount() throws MountException {
    fuse.unmount();
    close();
  }

  /** Unmounts (lazily if busy) and releases everything. Idempotent. */
  @Override
  public void close() {
    closeAll(resources);
  }

  /**
   * The read-ahead prefetcher and its own pool, registered in {@code opened} so they close after
   * the FUSE mount and before the cache; null when read_ahead is 0. The pool is sized like the S3
   * connection pool so read-ahead can use S3's parallel throughput without queuing behind it.
   */
  private static Prefetcher openPrefetcher(MountSpec spec, TieredBlockCache cache, MetricRegistry metrics,
      Deque<AutoCloseable> opened) {
    if (!spec.readAhead().enabled()) {
      return null;
    }
    int threads = Math.min(32, Math.min(spec.s3().maxConnections(), spec.cache().maxConcurrentFetches()));
    AtomicInteger n = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "prefetch-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    opened.push(() -> {
      pool.shutdownNow(); // running fetches are interrupted; readers fetch for themselves
      pool.awaitTermination(30, TimeUnit.SECONDS);
    });
    Prefetcher prefetcher = new Prefetcher(spec.readAhead(), cache, pool, metrics);
    opened.push(prefetcher);
    return prefetcher;
  }

  private static void closeAll(Deque<AutoCloseable> resources) {
    synchronized (resources) {
      while (!resources.isEmpty()) {
        AutoCloseable r = resources.pop();
        try {
          r.close();
        } catch (Exception e) {
          LOG.warn("closing {} failed: {}", r, e.toString());
        } 
      }
    }
  }
}
