package io.s3cache.readahead;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import io.s3cache.cache.BlockCache;
import io.s3cache.cache.BlockKey;
import io.s3cache.metrics.MetricNames;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads blocks into the block cache ahead of sequential readers. One per daemon, shared by every
 * handle: it holds the global byte budget ({@code prefetch_memory}) and the set of blocks being
 * prefetched, so two handles reading one object never prefetch a block twice.
 *
 * <p><b>Concurrency.</b> {@link #start} never blocks: it claims the block in {@code inflight}
 * (skipping it if another prefetch holds it), skips it if the cache holds it in memory (a block
 * only on disk is loaded too: the cache reads it into memory or hints its file to the kernel),
 * takes its
 * length from the budget with a compare-and-set (skipping it, counted, if that would exceed the
 * budget), and hands {@code cache.get} to the executor. The task releases the budget and the claim
 * when the get returns or fails, in that order. Fetches of the same block by a reader and a
 * prefetch are shared by the cache's single-flight, so a reader that catches up with a prefetch
 * waits for it instead of fetching again. A failed prefetch is logged at DEBUG and counted; the
 * reader's own get retries and reports the error.
 */
public final class Prefetcher implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Prefetcher.class);

  /** What {@link #start} did with one block. */
  public enum Outcome {
    /** A fetch was handed to the executor. */
    STARTED,
    /** The cache holds the block in memory already (see {@link BlockCache#isInMemory}). */
    CACHED,
    /** Another prefetch of the block is in flight. */
    IN_FLIGHT,
    /** The global budget is full: not prefetched (counted in {@code prefetch.skipped}). */
    NO_BUDGET,
    /** The prefetcher is closed or its executor refused the task. */
    REFUSED
  }

  /** Hears how one started prefetch ended. */
  public interface Completion {
    void done(BlockKey key, int length, boolean ok);
  }

  private final BlockCache cache;
  private final Executor executor;
  private final ReadAheadConfig config;
  private final MetricRegistry registry;
  private final AtomicLong inflightBytes = new AtomicLong();
  private final Set<BlockKey> inflight = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Counter bytes;
  private final Counter unusedBytes;
  private final Counter skipped;
  private final Counter failures;
  private final Gauge<Long> inflightGauge = inflightBytes::get;

  /**
   * @param executor runs the fetches (its size bounds how many run at once); must not run a task
   *     on the submitting thread, and is owned by the caller, who shuts it down after {@link #close}
   * @throws IllegalArgumentException if {@code config} has read-ahead off, or the registry already
   *     holds a prefetcher's gauge
   */
  public Prefetcher(ReadAheadConfig config, BlockCache cache, Executor executor,
      MetricRegistry registry) {
    if (!config.enabled()) {
      throw new IllegalArgumentException("read_ahead is 0: no prefetcher needed");
    }
    this.config = config;
    this.cache = cache;
    this.executor = executor;
    this.registry = registry;
    bytes = registry.counter(MetricNames.PREFETCH_BYTES);
    unusedBytes = registry.counter(MetricNames.PREFETCH_UNUSED_BYTES);
    skipped = registry.counter(MetricNames.PREFETCH_SKIPPED);
    failures = registry.counter(MetricNames.PREFETCH_FAILURES);
    registry.register(MetricNames.PREFETCH_INFLIGHT_BYTES, inflightGauge);
  }

  /** Read-ahead state for a newly opened handle of one object version. */
  public ReadAheadState open(String bucket, String key, String etag, long size) {
    return open(bucket, key, etag, size, cache);
  }

  /**
   * Read-ahead state for a handle whose blocks are fetched through {@code via}: its mount's view
   * of the shared cache, so prefetches use that mount's client (the budget stays shared).
   */
  public ReadAheadState open(String bucket, String key, String etag, long size, BlockCache via) {
    return new ReadAheadState(this, via, bucket, key, etag, size, cache.blockSize(),
        new SequentialDetector(cache.blockSize(), config.maxWindowBytes()));
  }

  /** Bytes of prefetch fetches in flight now (never above {@code prefetch_memory}). */
  public long inflightBytes() {
    return inflightBytes.get();
  }

  /** Stops starting prefetches; queued ones end without fetching. Idempotent. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      registry.removeMatching((name, metric) -> metric == inflightGauge);
    }
  }

  /**
   * Starts a prefetch of one block unless it is cached, in flight or over budget. Never blocks.
   * {@code completion} hears the end of a STARTED fetch only, on a prefetch thread.
   */
  public Outcome start(BlockKey key, int length, Completion completion) {
    return start(key, length, cache, completion);
  }

  /** {@link #start(BlockKey, int, Completion)} fetching through {@code via} (a mount's view of the cache). */
  public Outcome start(BlockKey key, int length, BlockCache via, Completion completion) {
    if (closed.get()) {
      return Outcome.REFUSED;
    }
    if (!inflight.add(key)) {
      return Outcome.IN_FLIGHT;
    }
    if (cache.isInMemory(key)) { // else a fetch, or a disk read into memory
      inflight.remove(key);
      return Outcome.CACHED;
    }
    if (!tryAcquire(length)) {
      inflight.remove(key);
      skipped.inc();
      return Outcome.NO_BUDGET;
    }
    try {
      executor.execute(() -> fetch(key, length, via, completion));
      return Outcome.STARTED;
    } catch (RejectedExecutionException e) {
      log.debug("prefetch of {} refused: {}", key, e.toString());
      finish(key, length);
      return Outcome.REFUSED;
    }
  }

  /** Counts bytes a handle prefetched and released without reading. */
  void unused(long n) {
    unusedBytes.inc(n);
  }

  private void fetch(BlockKey key, int length, BlockCache via, Completion completion) {
    boolean ok = false;
    try {
      if (!closed.get()) {
        via.load(key, length);
        bytes.inc(length);
        ok = true;
      }
    } catch (Exception e) {
      failures.inc();
      log.debug("prefetch of {} failed (a reader's own read will retry): {}", key, e.toString());
    } finally {
      finish(key, length);
      completion.done(key, length, ok);
    }
  }

  private void finish(BlockKey key, int length) {
    inflightBytes.addAndGet(-length);
    inflight.remove(key);
  }

  private boolean tryAcquire(int length) {
    long limit = config.prefetchMemoryBytes();
    while (true) {
      long current = inflightBytes.get();
      if (current + length > limit) {
        return false;
      }
      if (inflightBytes.compareAndSet(current, current + length)) {
        return true;
      }
    }
  }
}
