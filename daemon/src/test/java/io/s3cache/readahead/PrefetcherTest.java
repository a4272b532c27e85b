package io.s3cache.readahead;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.cache.BlockKey;
import io.s3cache.metrics.MetricNames;
import io.s3cache.testing.ManualExecutor;
import org.junit.jupiter.api.Test;

class PrefetcherTest {

  private static final int MiB = 1 << 20;
  private static final int BLOCK = 8 * MiB;

  private final FakeBlockCache cache = new FakeBlockCache(BLOCK);
  private final ManualExecutor executor = new ManualExecutor();
  private final MetricRegistry metrics = new MetricRegistry();

  private Prefetcher prefetcher(long window, long budget) {
    return new Prefetcher(new ReadAheadConfig(window, budget), cache, executor, metrics);
  }

  private static BlockKey key(String object, long index) {
    return new BlockKey("bkt", object, "\"e1\"", index);
  }

  private long counter(String name) {
    return metrics.counter(name).getCount();
  }

  private long inflightGauge() {
    return (Long) metrics.getGauges().get(MetricNames.PREFETCH_INFLIGHT_BYTES).getValue();
  }

  /** Reads whole blocks [from, to) of one handle, as a sequential reader with big requests. */
  private static void readBlocks(ReadAheadState handle, long from, long to) {
    for (long i = from; i < to; i++) {
      handle.onRead(i * BLOCK, BLOCK);
    }
  }

  @Test
  void prefetchesTheWindowAheadOfTheReader() {
    Prefetcher prefetcher = prefetcher(64L * MiB, 512L * MiB);
    ReadAheadState handle = prefetcher.open("bkt", "obj", "\"e1\"", 100L * BLOCK);

    handle.onRead(0, 128 << 10);
    assertEquals(1, executor.pending()); // one block ahead: block 1
    assertEquals(BLOCK, prefetcher.inflightBytes());
    executor.runAll();
    assertEquals(1, cache.gets(key("obj", 1)));
    assertEquals(0, cache.gets(key("obj", 0))); // the reader's own block is the reader's to get

    handle.onRead(128 << 10, BLOCK - (128 << 10)); // the rest of block 0
    readBlocks(handle, 1, 4); // window 2, 4, then 8 blocks
    executor.runAll();
    for (long i = 1; i <= 11; i++) {
      assertEquals(1, cache.gets(key("obj", i)), "block " + i);
    }
    assertEquals(0, cache.gets(key("obj", 12)));
    assertEquals(11L * BLOCK, counter(MetricNames.PREFETCH_BYTES));
    assertEquals(0, prefetcher.inflightBytes());
  }

  @Test
  void eachBlockIsRequestedOnceWhenManyReadsAndHandlesAskForIt() {
    Prefetcher prefetcher = prefetcher(64L * MiB, 512L * MiB);
    ReadAheadState a = prefetcher.open("bkt", "obj", "\"e1\"", 40L * BLOCK);
    ReadAheadState b = prefetcher.open("bkt", "obj", "\"e1\"", 40L * BLOCK);
    for (long pos = 0; pos < 3L * BLOCK; pos += 128 << 10) {
      a.onRead(pos, 128 << 10); // nothing runs yet: every prefetch stays in flight
      b.onRead(pos, 128 << 10);
    }
    executor.runAll();
    for (long pos = 3L * BLOCK; pos < 6L * BLOCK; pos += 128 << 10) {
      a.onRead(pos, 128 << 10);
      b.onRead(pos, 128 << 10);
      executor.runAll();
    }
    assertFalse(cache.gets.isEmpty());
    cache.gets.forEach((k, n) -> assertEquals(1, n.get(), k.toString()));
    assertEquals(cache.totalGets() * (long) BLOCK, counter(MetricNames.PREFETCH_BYTES));
  }

  @Test
  void skipsBlocksTheCacheHolds() {
    Prefetcher prefetcher = prefetcher(64L * MiB, 512L * MiB);
    cache.cached.add(key("obj", 2));
    ReadAheadState handle = prefetcher.open("bkt", "obj", "\"e1\"", 10L * BLOCK);
    readBlocks(handle, 0, 2); // window 2 blocks after block 1: blocks 2 and 3
    executor.runAll();
    assertEquals(1, cache.gets(key("obj", 1)));
    assertEquals(0, cache.gets(key("obj", 2)));
    assertEquals(1, cache.gets(key("obj", 3)));
  }

  @Test
  void loadsBlocksTheCacheHoldsOnlyOnDisk() {
    Prefetcher prefetcher = prefetcher(64L * MiB, 512L * MiB);
    cache.onDeviceOnly.add(key("obj", 2));
    cache.cached.add(key("obj", 3));
    assertEquals(Prefetcher.Outcome.STARTED, prefetcher.start(key("obj", 2), BLOCK, (k, n, ok) -> {}));
    assertEquals(Prefetcher.Outcome.CACHED, prefetcher.start(key("obj", 3), BLOCK, (k, n, ok) -> {}));
    executor.runAll();
    assertEquals(1, cache.gets(key("obj", 2)), "loaded: the cache brings it into memory");
    assertEquals(0, cache.gets(key("obj", 3)));
  }

  @Test
  void stopsAtTheEndOfTheObjectWithAShortLastBlock() {
    Prefetcher prefetcher = prefetcher(64L * MiB, 512L * MiB);
    long size = 2L * BLOCK + 100;
    ReadAheadState handle = prefetcher.open("bkt", "obj", "\"e1\"", size);
    readBlocks(handle, 0, 2);
    assertEquals(BLOCK + 100L, prefetcher.inflightBytes());
    executor.runAll();
    assertEquals(1, cache.gets(key("obj", 2)));
    assertEquals(0, cache.gets(key("obj", 3)));
  }

  @Test
  void theGlobalBudgetHoldsAcrossManyHandles() {
    long budget = 64L * MiB;
    Prefetcher prefetcher = prefetcher(64L * MiB, budget);
    ReadAheadState[] handles = new ReadAheadState[200];
    for (int h = 0; h < handles.length; h++) {
      handles[h] = prefetcher.open("bkt", "obj-" + h, "\"e1\"", 100L * BLOCK);
    }
    for (long block = 0; block < 5; block++) { // every handle's window grows to 64 MiB
      for (ReadAheadState handle : handles) {
        handle.onRead(block * BLOCK, BLOCK);
        assertTrue(prefetcher.inflightBytes() <= budget);
        assertTrue(inflightGauge() <= budget);
      }
      // Run some fetches: the budget frees up and others take it, never above it.
      executor.runNext();
      executor.runNext();
    }
    assertTrue(prefetcher.inflightBytes() >= budget - 2L * BLOCK);
    assertTrue(counter(MetricNames.PREFETCH_SKIPPED) > 900, "skipped " + counter(MetricNames.PREFETCH_SKIPPED));
    executor.runAll();
    assertEquals(0, prefetcher.inflightBytes());
    assertEquals(cache.totalGets() * (long) BLOCK, counter(MetricNames.PREFETCH_BYTES));
  }

  @Test
  void aSkippedBlockIsAskedForAgainOnTheNextRead() {
    Prefetcher prefetcher = prefetcher(64L * MiB, BLOCK);
    ReadAheadState a = prefetcher.open("bkt", "a", "\"e1\"", 10L * BLOCK);
    ReadAheadState b = prefetcher.open("bkt", "b", "\"e1\"", 10L * BLOCK);
    a.onRead(0, 4096);
    b.onRead(0, 4096); // budget full
    assertEquals(1, counter(MetricNames.PREFETCH_SKIPPED));
    executor.runAll();
    b.onRead(4096, 4096);
    executor.runAll();
    assertEquals(1, cache.gets(key("b", 1)));
  }

  @Test
  void theBudgetIsReleasedAfterAFailureAndTheFailureCounted() {
    Prefetcher prefetcher = prefetcher(64L * MiB, BLOCK);
    cache.failing.add(key("obj", 1));
    ReadAheadState handle = prefetcher.open("bkt", "obj", "\"e1\"", 10L * BLOCK);
    handle.onRead(0, 4096);
    assertEquals(BLOCK, prefetcher.inflightBytes());
    executor.runAll();
    assertEquals(0, prefetcher.inflightBytes());
    assertEquals(1, counter(MetricNames.PREFETCH_FAILURES));
    assertEquals(0, counter(MetricNames.PREFETCH_BYTES));

    ReadAheadState other = prefetcher.open("bkt", "other", "\"e1\"", 10L * BLOCK);
    other.onRead(0, 4096); // the budget is free again
    executor.runAll();
    assertEquals(1, cache.gets(key("other", 1)));
    handle.release();
    assertEquals(0, counter(MetricNames.PREFETCH_UNUSED_BYTES)); // nothing fetched, nothing wasted
  }

  @Test
  void releaseCountsPrefetchedBlocksTheHandleNeverRead() {
    Prefetcher prefetcher = prefetcher(64L * MiB, 512L * MiB);
    ReadAheadState handle = prefetcher.open("bkt", "obj", "\"e1\"", 10L * BLOCK + 5);
    readBlocks(handle, 0, 3); // prefetched 1..6 (window 4 after block 2)
    executor.runAll();
    handle.onRead(3L * BLOCK, 4096); // reads into block 3 (and prefetches up to block 10, short)
    executor.runAll();
    handle.release();
    // Unread: 4..9 whole, and 10 of 5 bytes.
    assertEquals(6L * BLOCK + 5, counter(MetricNames.PREFETCH_UNUSED_BYTES));
  }

  @Test
  void aClosedPrefetcherStartsNothingAndQueuedFetchesDoNothing() {
    Prefetcher prefetcher = prefetcher(64L * MiB, 512L * MiB);
    ReadAheadState handle = prefetcher.open("bkt", "obj", "\"e1\"", 10L * BLOCK);
    handle.onRead(0, 4096);
    prefetcher.close();
    assertFalse(metrics.getGauges().containsKey(MetricNames.PREFETCH_INFLIGHT_BYTES));
    handle.onRead(4096, 4096);
    executor.runAll();
    assertEquals(0, cache.totalGets());
    assertEquals(0, prefetcher.inflightBytes());
  }

  @Test
  void configNamesTheSettingInItsErrors() {
    assertEquals("read_ahead must be >= 0 (0 turns read-ahead off), got -1",
        assertThrows(IllegalArgumentException.class, () -> new ReadAheadConfig(-1, 1)).getMessage());
    assertEquals("prefetch_memory must be >= 0, got -1",
        assertThrows(IllegalArgumentException.class, () -> new ReadAheadConfig(0, -1)).getMessage());
    assertThrows(IllegalArgumentException.class, () -> new ReadAheadConfig(MiB, 0));
    assertFalse(new ReadAheadConfig(0, 0).enabled());
    assertTrue(ReadAheadConfig.defaults().enabled());
  }
}
