package io.s3cache.preload;

import com.codahale.metrics.Counter;
import com.codahale.metrics.MetricRegistry;
import io.s3cache.cache.BlockKey;
import io.s3cache.cache.TieredBlockCache;
import io.s3cache.config.ByteSize;
import io.s3cache.control.ControlApi.ProgressSink;
import io.s3cache.control.ControlException;
import io.s3cache.control.PreloadProgress;
import io.s3cache.metrics.MetricNames;
import io.s3cache.s3.ListPage;
import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectClientException;
import io.s3cache.s3.ObjectMeta;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads every block of a set of objects into the disk tier with N parallel fetches.
 *
 * <p>Phases: list (the top level with a delimiter, then each sub-prefix in parallel, every listing
 * paginated), check the selection fits the disk cap, then fetch each block that no tier holds.
 * Idempotent and resumable: a block already on disk is counted as done and not fetched again, so
 * an interrupted preload re-run fetches only what is missing. Progress goes to a {@link
 * ProgressSink} about twice a second and once at the end; a cancelled sink stops the run (fetches
 * in flight finish and stay cached).
 */
public final class Preloader {

  private static final Logger LOG = LoggerFactory.getLogger(Preloader.class);
  private static final long REPORT_EVERY_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
  /**
   * Disk charge per block beyond its bytes, for the fit check: the header (under 1 KiB for keys of
   * ordinary length), rounding to 4 KiB, the directory-entry charge; generously rounded up.
   */
  private static final long PER_BLOCK_OVERHEAD = 8192;

  private final TieredBlockCache cache;
  private final Counter fetchedBytes;
  private final Counter failedObjects;

  public Preloader(TieredBlockCache cache, MetricRegistry metrics) {
    this.cache = cache;
    this.fetchedBytes = metrics.counter(MetricNames.PRELOAD_BYTES_FETCHED);
    this.failedObjects = metrics.counter(MetricNames.PRELOAD_OBJECTS_FAILED);
  }

  /** One selected object and the bucket it is fetched from. */
  private record Item(PreloadTarget target, ObjectMeta meta) {}

  public void run(List<PreloadTarget> targets, ShardSelector shard, int parallel, boolean dryRun, ProgressSink sink)
      throws ControlException {
    Progress p = new Progress();
    p.phase = "listing";
    List<Item> items = list(targets, shard, parallel, p, sink);
    long needed = 0;
    for (Item i : items) {
      long blocks = (i.meta().size() + cache.blockSize() - 1) / cache.blockSize();
      needed += i.meta().size() + blocks * PER_BLOCK_OVERHEAD;
    }
    // Eviction frees 1/64 of the cap beyond what it needs: a selection above 63/64 would evict itself.
    long usable = cache.diskUsableBytes() / 64 * 63;
    if (needed > usable) {
      String why = "preload of " + items.size() + " objects (" + ByteSize.format(p.bytes.get())
          + ", " + ByteSize.format(needed) + " on disk) does not fit the disk cache cap (" + ByteSize.format(usable)
          + " usable): raise disk_cache, or preload a part (a narrower path, --shard I/N)";
      if (!dryRun) {
        throw ControlException.conflict(why);
      }
      p.error = why; // a dry run reports it and still sizes what is cached
    }
    p.phase = dryRun ? "done" : "fetching";
    if (dryRun) {
      for (Item i : items) {
        long cached = 0;
        for (long b = 0; b < blocks(i); b++) {
          if (cache.isOnDisk(key(i, b))) {
            cached += length(i, b);
          }
        }
        p.bytesDone.addAndGet(cached);
        if (cached == i.meta().size()) {
          p.filesDone.incrementAndGet();
        }
      }
    } else {
      fetch(items, parallel, p, sink);
    }
    p.phase = "done";
    sink.send(p.report(true));
  }

  private List<Item> list(List<PreloadTarget> targets, ShardSelector shard, int parallel, Progress p,
      ProgressSink sink) throws ControlException {
    Map<String, Item> found = new ConcurrentHashMap<>();
    ExecutorService pool = Executors.newFixedThreadPool(Math.min(Math.max(parallel, 1), 16), named("preload-list"));
    try {
      List<Future<?>> listings = new ArrayList<>();
      for (PreloadTarget t : targets) {
        if (!t.prefix()) {
          try {
            add(found, new Item(t, t.object()), shard, p);
          } catch (ObjectClientException e) {
            throw new ControlException(e.kind() == ObjectClientException.Kind.NOT_FOUND ? 404 : 502,
                "cannot preload s3://" + t.client().bucket() + "/" + t.key() + ": " + e.getMessage());
          }
          continue;
        }
        // Top level with a delimiter, so each sub-prefix can be listed in parallel.
        String token = null;
        do {
          ListPage page = t.client().list(t.key(), "/", token, 1000);
          for (ObjectMeta o : page.objects()) {
            add(found, new Item(t, o), shard, p);
          }
          for (String sub : page.commonPrefixes()) {
            listings.add(pool.submit(() -> {
              listFlat(t, sub, found, shard, p);
              return null;
            }));
          }
          token = page.nextContinuationToken();
        } while (token != null);
      }
      for (Future<?> f : listings) {
        f.get();
        maybeReport(p, sink);
      }
    } catch (ObjectClientException e) {
      throw new ControlException(502, "listing failed: " + e.getMessage());
    } catch (java.util.concurrent.ExecutionException e) {
      throw new ControlException(502, "listing failed: " + e.getCause().getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ControlException(500, "interrupted while listing");
    } finally {
      pool.shutdownNow();
    }
    List<Item> items = new ArrayList<>(found.values());
    items.sort((a, b) -> a.meta().key().compareTo(b.meta().key()));
    return items;
  }

  private void listFlat(PreloadTarget t, String prefix, Map<String, Item> found, ShardSelector shard, Progress p)
      throws ObjectClientException {
    String token = null;
    do {
      ListPage page = t.client().list(prefix, null, token, 1000);
      for (ObjectMeta o : page.objects()) {
        add(found, new Item(t, o), shard, p);
      }
      token = page.nextContinuationToken();
    } while (token != null);
  }

  private static void add(Map<String, Item> found, Item item, ShardSelector shard, Progress p) {
    String key = item.meta().key();
    if (key.endsWith("/") || !shard.selects(key)) {
      return; // directory markers hold nothing to read
    }
    String id = item.target().client().bucket() + "/" + key;
    if (found.putIfAbsent(id, item) == null) {
      p.files.incrementAndGet();
      p.bytes.addAndGet(item.meta().size());
    }
  }

  /**
   * N workers pull (object, block) pairs from one shared cursor: memory stays O(objects), however
   * many blocks there are. This thread reports progress until the workers are done or cancelled.
   */
  private void fetch(List<Item> items, int parallel, Progress p, ProgressSink sink) {
    Map<String, String> failures = Collections.synchronizedMap(new LinkedHashMap<>());
    long[] remaining = new long[items.size()];
    for (int i = 0; i < items.size(); i++) {
      remaining[i] = blocks(items.get(i));
      if (remaining[i] == 0) {
        p.filesDone.incrementAndGet();
      }
    }
    Cursor cursor = new Cursor(items);
    java.util.concurrent.CountDownLatch workersDone = new java.util.concurrent.CountDownLatch(parallel);
    java.util.concurrent.ThreadFactory threads = named("preload-fetch");
    for (int w = 0; w < parallel; w++) {
      threads.newThread(() -> {
        try {
          for (long[] next; !sink.cancelled() && (next = cursor.next()) != null; ) {
            Item item = items.get((int) next[0]);
            String id = item.target().client().bucket() + "/" + item.meta().key();
            if (failures.containsKey(id)) {
              continue;
            }
            try {
              long fetched = cache.loadToDisk(key(item, next[1]), length(item, next[1]),
                  streaming(item.target().client())); // the preloading mount's client and credentials
              fetchedBytes.inc(fetched);
              p.bytesFetched.addAndGet(fetched);
              p.bytesDone.addAndGet(length(item, next[1]));
              boolean last;
              synchronized (remaining) {
                last = --remaining[(int) next[0]] == 0;
              }
              if (last) {
                p.filesDone.incrementAndGet();
              }
            } catch (IOException | RuntimeException e) {
              if (failures.putIfAbsent(id, String.valueOf(e.getMessage())) == null) {
                failedObjects.inc();
                LOG.warn("preload of s3://{} failed: {}", id, e.getMessage());
              }
            }
          }
        } finally {
          workersDone.countDown();
        }
      }).start();
    }
    try {
      while (!workersDone.await(REPORT_EVERY_NANOS, TimeUnit.NANOSECONDS)) {
        maybeReport(p, sink);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.error = "interrupted";
    }
    if (sink.cancelled()) {
      LOG.info("preload cancelled by its client; {} fetched so far stays cached", ByteSize.format(p.bytesFetched.get()));
      p.error = "cancelled";
    }
    failures.forEach((id, why) -> p.failed.add(id + ": " + why));
  }

  /** Hands out (object index, block index) pairs in order, once each. */
  private final class Cursor {
    private final List<Item> items;
    private int item;
    private long block;

    Cursor(List<Item> items) {
      this.items = items;
    }

    synchronized long[] next() {
      while (item < items.size() && block >= blocks(items.get(item))) {
        item++;
        block = 0;
      }
      return item < items.size() ? new long[] {item, block++} : null;
    }
  }

  private long blocks(Item i) {
    return (i.meta().size() + cache.blockSize() - 1) / cache.blockSize();
  }

  private BlockKey key(Item i, long index) {
    return new BlockKey(i.target().client().bucket(), i.meta().key(), i.meta().etag(), index);
  }

  private int length(Item i, long index) {
    return (int) Math.min(cache.blockSize(), i.meta().size() - index * cache.blockSize());
  }

  private static void maybeReport(Progress p, ProgressSink sink) {
    long now = System.nanoTime();
    if (now - p.lastReport >= REPORT_EVERY_NANOS) {
      p.lastReport = now;
      sink.send(p.report(false));
    }
  }

  private static java.util.concurrent.ThreadFactory named(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  /** Counters shared by the workers; reported as {@link PreloadProgress}. */
  private static final class Progress {
    volatile String phase;
    volatile String error;
    volatile long lastReport = System.nanoTime();
    final AtomicLong files = new AtomicLong();
    final AtomicLong bytes = new AtomicLong();
    final AtomicLong filesDone = new AtomicLong();
    final AtomicLong bytesDone = new AtomicLong();
    final AtomicLong bytesFetched = new AtomicLong();
    final List<String> failed = Collections.synchronizedList(new ArrayList<>());

    PreloadProgress report(boolean done) {
      return new PreloadProgress(phase, files.get(), bytes.get(), filesDone.get(), bytesDone.get(),
          bytesFetched.get(), List.copyOf(failed), error, done);
    }
  }

  /**
   * A block source over {@code via} that reports bytes as they arrive, so a reader that joins a
   * preload's fill gets its range as soon as it is in, as with any other fill.
   */
  private static io.s3cache.cache.BlockSource streaming(ObjectClient via) {
    return new io.s3cache.cache.BlockSource() {
      @Override
      public void fetch(BlockKey k, long offset, java.nio.ByteBuffer dst) throws IOException {
        via.getRange(k.key(), k.etag(), offset, dst);
      }

      @Override
      public void fetch(BlockKey k, long offset, java.nio.ByteBuffer dst, java.util.function.IntConsumer arrived)
          throws IOException {
        via.getRange(k.key(), k.etag(), offset, dst, arrived);
      }
    };
  }
}
