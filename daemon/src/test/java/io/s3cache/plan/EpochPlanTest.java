package io.s3cache.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.Counter;
import com.codahale.metrics.MetricRegistry;
import io.s3cache.cache.BlockCache;
import io.s3cache.cache.BlockKey;
import io.s3cache.metrics.MetricNames;
import io.s3cache.readahead.Prefetcher;
import io.s3cache.readahead.ReadAheadConfig;
import io.s3cache.s3.ObjectMeta;
import io.s3cache.testing.ManualExecutor;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/** The plan window on the real Prefetcher, with a manual executor: no threads, no sleeps. */
class EpochPlanTest {

  private static final int BLOCK = 1 << 20;

  /** Records the order of loads; everything it loaded counts as cached. */
  private static final class RecordingCache implements BlockCache {
    final List<BlockKey> loads = Collections.synchronizedList(new ArrayList<>());
    final Set<BlockKey> cached = ConcurrentHashMap.newKeySet();

    @Override
    public int blockSize() {
      return BLOCK;
    }

    @Override
    public ByteBuffer get(BlockKey key, int length) {
      loads.add(key);
      cached.add(key);
      return ByteBuffer.allocate(0);
    }

    @Override
    public boolean isCached(BlockKey key) {
      return cached.contains(key);
    }

    @Override
    public void close() {}

    List<String> loadedKeys() {
      return loads.stream().map(k -> k.key() + "#" + k.index()).toList();
    }
  }

  private final RecordingCache cache = new RecordingCache();
  private final ManualExecutor executor = new ManualExecutor();
  private final MetricRegistry metrics = new MetricRegistry();

  private static List<PlannedFile> files(int n, long size) {
    List<PlannedFile> files = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      files.add(new PlannedFile("/d/f" + i, new ObjectMeta("p/d/f" + i, size, Instant.EPOCH, "\"e" + i + "\"")));
    }
    return files;
  }

  private EpochPlan plan(List<PlannedFile> files, PlanLimits limits, long prefetchMemory) {
    Prefetcher prefetcher = new Prefetcher(new ReadAheadConfig(8L * BLOCK, prefetchMemory), cache, executor,
        new MetricRegistry()); // a registry of its own: each holds one prefetcher gauge
    return new EpochPlan(EpochPlan.Identity.anonymous("p1"), "/mnt", "bkt", 3, files, BLOCK, limits, prefetcher::start,
        PlanShare.unlimited(), metrics.counter(MetricNames.PLAN_PREFETCH_BLOCKS), metrics.counter(MetricNames.PLAN_PREFETCH_BYTES));
  }

  @Test
  void prefetchesInPlanOrderWithinTheWindowAndAdvancesAsFilesAreOpened() {
    EpochPlan plan = plan(files(10, 1000), new PlanLimits(3, 1L << 30, 8L * BLOCK, 1), 64L * BLOCK);
    plan.start();
    executor.runAll();
    assertEquals(List.of("p/d/f0#0", "p/d/f1#0", "p/d/f2#0"), cache.loadedKeys(), "window of 3 files");

    plan.onOpen("/d/f0");
    executor.runAll();
    assertEquals("p/d/f3#0", cache.loadedKeys().get(3));
    assertEquals(4, cache.loads.size(), "one open moves the window by one file");

    plan.onOpen("/d/unplanned");
    plan.onOpen("/d/f0"); // a re-open behind the reader does not move it
    executor.runAll();
    assertEquals(4, cache.loads.size());

    plan.onOpen("/d/f5"); // out of order, as a loader's second worker opens its batch: f4 is still fetched
    executor.runAll();
    assertEquals(List.of("p/d/f0#0", "p/d/f1#0", "p/d/f2#0", "p/d/f3#0", "p/d/f5#0", "p/d/f4#0", "p/d/f6#0",
        "p/d/f7#0", "p/d/f8#0"), cache.loadedKeys(), "f5, opened before the plan asked for it, is asked for at once");
    assertEquals(6, plan.status().readerPosition());
    assertEquals(9, metrics.counter(MetricNames.PLAN_PREFETCH_BLOCKS).getCount());
    assertEquals(9000, metrics.counter(MetricNames.PLAN_PREFETCH_BYTES).getCount());
    plan.onOpen("/d/f1"); // behind the reader: moves nothing
    assertEquals(6, plan.status().readerPosition());
  }

  @Test
  void aReaderThatJumpsMoreThanFourWindowsAheadSkipsWhatItPassed() {
    EpochPlan plan = plan(files(40, 1000), new PlanLimits(2, 1L << 30, 8L * BLOCK, 1), 64L * BLOCK);
    plan.start();
    executor.runAll();
    plan.onOpen("/d/f30"); // 8 files (4 windows of 2) behind it are still read; f2..f22 are skipped
    executor.runAll();
    assertEquals(List.of("p/d/f0#0", "p/d/f1#0", "p/d/f30#0", "p/d/f23#0", "p/d/f24#0", "p/d/f25#0", "p/d/f26#0", "p/d/f27#0",
        "p/d/f28#0", "p/d/f29#0", "p/d/f31#0", "p/d/f32#0"), cache.loadedKeys());
  }

  @Test
  void thePlanFinishesOnceItsLastFileIsOpenAndEveryBlockWasAskedFor() {
    EpochPlan plan = plan(files(4, BLOCK), new PlanLimits(4, 1L << 30, 8L * BLOCK, 1), 1L * BLOCK);
    List<Boolean> told = new ArrayList<>();
    plan.onChange(() -> told.add(true));
    plan.start();
    assertEquals(1, executor.pending(), "prefetch_memory holds one block");
    plan.onOpen("/d/f3"); // the last file, opened first (a worker's batch): f1 and f2 are still to come
    assertTrue(plan.active());
    executor.runAll();
    assertEquals("finished", plan.status().state(), "every block asked for, the last file open");
    assertEquals(List.of(true), told, "the mount heard it from the completion");
    assertEquals(List.of("p/d/f0#0", "p/d/f1#0", "p/d/f2#0"), cache.loadedKeys());
  }

  @Test
  void smallFilesAreFetchedWholeAndLargeOnesOnlyTheirFirstBlock() {
    List<PlannedFile> files = List.of(
        new PlannedFile("/small", new ObjectMeta("small", 3L * BLOCK, Instant.EPOCH, "\"a\"")),
        new PlannedFile("/large", new ObjectMeta("large", 5L * BLOCK + 7, Instant.EPOCH, "\"b\"")));
    EpochPlan plan = plan(files, new PlanLimits(10, 1L << 30, 4L * BLOCK, 1), 64L * BLOCK);
    plan.start();
    executor.runAll();
    assertEquals(List.of("small#0", "small#1", "small#2", "large#0"), cache.loadedKeys());
  }

  @Test
  void theGlobalPrefetchBudgetBoundsWhatIsInFlightAndCompletionsContinue() {
    EpochPlan plan = plan(files(6, BLOCK), new PlanLimits(100, 1L << 30, 8L * BLOCK, 1), 2L * BLOCK);
    plan.start();
    assertEquals(2, executor.pending(), "prefetch_memory holds two blocks");
    assertEquals(2, plan.status().inflightBlocks());
    executor.runNext(); // one completes: the plan asks for the next at once
    assertEquals(2, executor.pending());
    executor.runAll();
    assertEquals(6, cache.loads.size());
    assertEquals(0, plan.status().inflightBlocks());
    assertEquals(6, plan.status().issuedThrough());
  }

  @Test
  void windowBytesBoundThePlanButTheNextFileAlwaysFits() {
    EpochPlan plan = plan(files(5, 3L * BLOCK), new PlanLimits(100, 7L * BLOCK, 8L * BLOCK, 1), 64L * BLOCK);
    plan.start();
    executor.runAll();
    assertEquals(6, cache.loads.size(), "two files of 3 blocks fit 7 blocks, a third does not");
    EpochPlan huge = plan(List.of(new PlannedFile("/h", new ObjectMeta("h", 4L * BLOCK, Instant.EPOCH, "\"h\""))),
        new PlanLimits(100, 1, 8L * BLOCK, 1), 64L * BLOCK);
    huge.start();
    executor.runAll();
    assertEquals(10, cache.loads.size(), "a file larger than windowBytes is still fetched when it is next");
  }

  @Test
  void aDroppedPlanStartsNothingMoreAndAFinishedOneStops() {
    EpochPlan plan = plan(files(10, 1000), new PlanLimits(2, 1L << 30, 8L * BLOCK, 1), 64L * BLOCK);
    plan.start();
    plan.drop();
    executor.runAll(); // the two in flight complete; nothing follows
    assertEquals(2, cache.loads.size());
    plan.onOpen("/d/f1");
    executor.runAll();
    assertEquals(2, cache.loads.size());
    assertFalse(plan.status().active());

    EpochPlan other = plan(files(3, 1000), new PlanLimits(1, 1L << 30, 8L * BLOCK, 1), 64L * BLOCK);
    other.start();
    assertTrue(other.status().active());
    other.onOpen("/d/f2"); // the last planned file is open: the epoch is read
    assertFalse(other.status().active());
    assertEquals(3, other.status().readerPosition());
  }

  @Test
  void cachedBlocksAreCountedAndNotFetchedAgain() {
    List<PlannedFile> files = files(3, 1000);
    cache.cached.add(new BlockKey("bkt", "p/d/f1", "\"e1\"", 0));
    EpochPlan plan = plan(files, new PlanLimits(10, 1L << 30, 8L * BLOCK, 1), 64L * BLOCK);
    plan.start();
    executor.runAll();
    assertEquals(List.of("p/d/f0#0", "p/d/f2#0"), cache.loadedKeys());
    assertEquals(1, plan.status().alreadyCachedBlocks());
    assertEquals(2, plan.status().prefetchedBlocks());
  }

  @Test
  void aPlanOfTheSameNameReplacesTheMountsPlanAndEndingItLeavesItsFigures() {
    MountPlans plans = new MountPlans(new Counter());
    EpochPlan first = plan(files(5, 1000), new PlanLimits(1, 1L << 30, 8L * BLOCK, 1), 64L * BLOCK);
    EpochPlan second = plan(files(5, 1000), new PlanLimits(1, 1L << 30, 8L * BLOCK, 1), 64L * BLOCK);
    plans.install(first, false);
    assertEquals(List.of(first), plans.install(second, false));
    assertFalse(first.active());
    assertEquals(EpochPlan.State.ENDED, first.state());
    plans.onOpen("/d/f0");
    assertEquals(1, second.status().readerPosition());
    assertEquals(List.of(second), plans.active());
    assertEquals(List.of(second), plans.endAll(null));
    assertEquals(List.of(), plans.active());
    assertFalse(second.active());
    assertEquals("ended", second.status().state());
  }
}
