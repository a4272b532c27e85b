package io.s3cache.cache;

import io.s3cache.testing.ManualExecutor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.Counter;
import com.codahale.metrics.MetricRegistry;
import io.s3cache.metrics.MetricNames;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class TieredBlockCacheTest {
  private static final int BLOCK = 64 << 10;

  @TempDir Path dir;
  private final FakeBlockSource source = new FakeBlockSource();
  private final MetricRegistry registry = new MetricRegistry();
  private final ManualExecutor diskWrites = new ManualExecutor();
  private final FaultyFileIo io = new FaultyFileIo();
  private final List<TieredBlockCache> caches = new ArrayList<>();
  private ExecutorService pool;

  @AfterEach
  void tearDown() {
    caches.forEach(TieredBlockCache::close);
    if (pool != null) {
      pool.shutdownNow();
    }
  }

  private CacheConfig config(long ram, long disk) {
    return new CacheConfig(BLOCK, ram, dir, disk, 4, 1 << 20, false);
  }

  private TieredBlockCache cache(CacheConfig config, MetricRegistry reg) {
    TieredBlockCache c = new TieredBlockCache(config, source, reg, diskWrites, null,
        Runnable::run, io, null);
    caches.add(c);
    return c;
  }

  private static BlockKey key(long i) {
    return new BlockKey("bucket", "train/shard-0001.tar", "\"abc\"", i);
  }

  private static ByteBuffer expected(BlockKey k, int length) {
    return FakeBlockSource.expected(k, BLOCK, length);
  }

  /**
   * Regression (issue 14: a cold 1 GiB read made 134-152 GETs for 128 blocks): the RAM tier may
   * refuse a fetched block (here it holds nothing), and a read that comes before the block's
   * background disk write has landed must be served from the write queue, not fetched again.
   */
  /**
   * Review leftover (issue 14): preload re-checked only the disk and RAM tiers, so a block a reader
   * had just fetched, waiting in the write queue, was fetched again.
   */
  @Test
  void preloadOfABlockWaitingInTheWriteQueueWritesItFromThereWithoutAFetch() throws IOException {
    TieredBlockCache cache = cache(config(0, 4 << 20), registry);
    cache.get(key(6), BLOCK);
    assertEquals(1, diskWrites.pending(), "the reader's disk write is still queued");
    assertEquals(0, cache.loadToDisk(key(6), BLOCK), "nothing fetched");
    assertEquals(1, source.fetches.get());
    assertTrue(cache.isOnDisk(key(6)), "written synchronously from the queued block");
    diskWrites.runAll(); // the queued write finds it on disk already
    assertEquals(expected(key(6), BLOCK), cache.get(key(6), BLOCK));
    assertEquals(1, source.fetches.get());
  }

  @Test
  void aBlockWaitingForItsDiskWriteIsReadFromTheQueueNotFetchedAgain() throws IOException {
    TieredBlockCache cache = cache(config(0, 4 << 20), registry);
    cache.get(key(5), BLOCK); // complete: the fill has queued its disk write
    assertEquals(1, source.fetches.get());
    assertEquals(1, diskWrites.pending(), "the disk write is still queued");
    assertTrue(cache.isCached(key(5)));

    ByteBuffer again = ByteBuffer.allocate(500);
    cache.read(key(5), BLOCK, 2000, again, () -> {});
    assertEquals(1, source.fetches.get(), "served from the block waiting for its disk write");
    assertEquals(expected(key(5), BLOCK).position(2000).limit(2500), again.flip());
    assertEquals(expected(key(5), BLOCK), cache.get(key(5), BLOCK));
    assertEquals(1, source.fetches.get());

    diskWrites.runAll();
    assertTrue(cache.isOnDisk(key(5)));
    ByteBuffer fromDisk = ByteBuffer.allocate(500);
    cache.read(key(5), BLOCK, 2000, fromDisk, () -> {});
    assertEquals(expected(key(5), BLOCK).position(2000).limit(2500), fromDisk.flip());
    assertEquals(1, source.fetches.get());
  }

  /**
   * Issue 15 item 6 (block GETs always used the first mount's client for a bucket): a mount's view
   * fetches what it misses through its own source; blocks stay shared between views.
   */
  @Test
  void eachViewFetchesItsMissesThroughItsOwnSourceAndSharesWhatIsCached() throws IOException {
    TieredBlockCache cache = cache(config(1 << 20, 4 << 20), registry);
    FakeBlockSource first = new FakeBlockSource();
    FakeBlockSource second = new FakeBlockSource();
    BlockCache a = cache.through(first);
    BlockCache b = cache.through(second);

    assertEquals(expected(key(1), BLOCK), a.get(key(1), BLOCK));
    ByteBuffer dst = ByteBuffer.allocate(100);
    b.read(key(2), BLOCK, 10, dst, () -> {});
    assertEquals(expected(key(2), BLOCK).position(10).limit(110), dst.flip());
    assertEquals(1, first.fetches.get());
    assertEquals(1, second.fetches.get(), "the second view's miss went through its own source");

    assertEquals(expected(key(1), BLOCK), b.get(key(1), BLOCK));
    assertEquals(1, second.fetches.get(), "a block the first view fetched is shared");
    assertEquals(0, source.fetches.get(), "the cache's own source is not used by views");
  }

  @Test
  void ramHitReturnsIndependentReadOnlyViews() throws IOException {
    TieredBlockCache cache = cache(config(1 << 20, 4 << 20), registry);
    ByteBuffer first = cache.get(key(3), BLOCK);
    ByteBuffer second = cache.get(key(3), BLOCK);
    assertEquals(1, source.fetches.get());
    assertTrue(first.isReadOnly() && second.isReadOnly());
    assertEquals(0, second.position());
    assertEquals(BLOCK, second.limit());
    first.position(100).limit(200);
    assertEquals(0, second.position(), "views never share position");
    assertEquals(BLOCK, cache.get(key(3), BLOCK).limit());
    assertEquals(expected(key(3), BLOCK), second);
    assertNotSame(first, second);
    CacheStats s = cache.stats();
    assertEquals(2, s.ramHits());
    assertEquals(1, s.ramMisses());
    assertEquals(1, s.diskMisses());
    assertEquals(1, s.fetches());
    assertEquals(BLOCK, s.ramBytes());
    assertEquals((long) BLOCK, registry.getGauges().get(MetricNames.CACHE_RAM_BYTES).getValue());
    assertEquals(1, registry.counter(MetricNames.CACHE_FETCHES).getCount());
  }

  @Test
  void lastBlockOfAnObjectIsShortAndFetchedAtItsOffset() throws IOException {
    TieredBlockCache cache = cache(config(1 << 20, 0), registry);
    assertEquals(expected(key(5), 1234), cache.get(key(5), 1234));
    assertThrows(IllegalArgumentException.class, () -> cache.get(key(5), BLOCK + 1));
  }

  @Test
  void evictRightAfterAReadAlsoCancelsTheQueuedDiskWrite() throws IOException {
    TieredBlockCache cache = cache(config(1 << 20, 4 << 20), registry);
    cache.get(key(0), BLOCK);
    assertEquals(BLOCK, cache.pendingDiskWriteBytes(), "the disk write is queued, not yet run");
    assertTrue(cache.evict(key(0)));
    assertEquals(0, cache.pendingDiskWriteBytes());
    diskWrites.runAll();
    assertFalse(cache.isCached(key(0)), "the evicted block did not come back on disk");
    assertEquals(expected(key(0), BLOCK), cache.get(key(0), BLOCK));
    assertEquals(2, source.fetches.get(), "fetched again after evict");
  }

  @Test
  void loadToDiskFetchesOnceWritesSynchronouslyAndSkipsWhatIsCached() throws IOException {
    TieredBlockCache cache = cache(config(1 << 20, 4 << 20), registry);
    assertEquals(BLOCK, cache.loadToDisk(key(1), BLOCK));
    assertTrue(cache.isOnDisk(key(1)), "on disk when loadToDisk returns, with no background write");
    assertEquals(0, cache.loadToDisk(key(1), BLOCK), "already on disk: nothing fetched");
    assertEquals(1, source.fetches.get());
    assertEquals(expected(key(1), BLOCK), cache.get(key(1), BLOCK));
    assertEquals(1, source.fetches.get(), "a reader is served from disk");
  }

  @Test
  void fetchedBlocksAreWrittenInTheBackgroundAndSurviveRestart() throws IOException {
    TieredBlockCache cache = cache(config(1 << 20, 4 << 20), registry);
    cache.get(key(0), BLOCK);
    assertEquals(BLOCK, cache.pendingDiskWriteBytes());
    diskWrites.runAll();
    assertEquals(0, cache.pendingDiskWriteBytes());
    assertTrue(cache.stats().diskBlocks() == 1);
    cache.close();

    MetricRegistry second = new MetricRegistry();
    TieredBlockCache restarted = cache(config(1 << 20, 4 << 20), second);
    assertTrue(restarted.isCached(key(0)));
    assertEquals(expected(key(0), BLOCK), restarted.get(key(0), BLOCK));
    assertEquals(1, source.fetches.get(), "served from disk after restart");
    assertEquals(1, restarted.stats().diskHits());
    assertTrue((Long) second.getGauges().get(MetricNames.CACHE_DISK_BYTES).getValue() > BLOCK);
    assertEquals(expected(key(0), BLOCK), restarted.get(key(0), BLOCK));
    assertEquals(2, restarted.stats().diskHits(), "a disk hit is not copied into RAM");
  }

  @Test
  void diskHitsDoNotEnterRamSoAScanLargerThanRamKeepsIt() throws IOException {
    TieredBlockCache cache = cache(config(2 * BLOCK, 8 << 20), registry);
    for (int i = 0; i < 6; i++) {
      cache.get(key(i), BLOCK);
      diskWrites.runAll();
    }
    assertEquals(6, cache.stats().diskBlocks());
    long ramBefore = cache.stats().ramBytes();
    for (int pass = 0; pass < 2; pass++) { // a scan of 6 blocks through a RAM tier of 2
      for (int i = 0; i < 6; i++) {
        ByteBuffer dst = ByteBuffer.allocateDirect(1000);
        cache.read(key(i), BLOCK, 500, dst, () -> {});
        assertEquals(expected(key(i), BLOCK).position(500).limit(1500), dst.flip());
      }
    }
    assertEquals(6, source.fetches.get(), "the scan was served from disk");
    CacheStats stats = cache.stats();
    assertEquals(12, stats.ramHits() + stats.diskHits());
    assertTrue(stats.diskHits() >= 8, "blocks not in RAM were read from disk");
    assertEquals(ramBefore, stats.ramBytes(), "disk hits were not copied into RAM");
  }

  @Test
  void aCorruptChunkIsReFetchedForTheReadThatTouchesItOnly() throws IOException {
    int chunk = BlockFileFormat.CHUNK_SIZE;
    int block = 4 * chunk;
    FakeBlockSource bigSource = new FakeBlockSource();
    TieredBlockCache cache = new TieredBlockCache(
        new CacheConfig(block, 0, dir, 8 << 20, 4, 1 << 20, false), bigSource, registry,
        diskWrites, null, Runnable::run, io, null);
    caches.add(cache);
    BlockKey k = key(0);
    ByteBuffer all = FakeBlockSource.expected(k, block, block);
    cache.get(k, block); // the whole block: its disk write is queued once the fill completes
    diskWrites.runAll();
    assertEquals(1, bigSource.fetches.get());
    Path file = dir.resolve("blocks").resolve(BlockFileFormat.hash(k, block).substring(0, 2))
        .resolve(BlockFileFormat.hash(k, block) + ".blk");
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(new byte[] {42, 43, 44}),
          BlockFileFormat.headerLength(k, block) + 3L * chunk + 5);
    }
    ByteBuffer first = ByteBuffer.allocateDirect(2 * chunk);
    cache.read(k, block, chunk, first, () -> {});
    assertEquals(all.duplicate().position(chunk).limit(3 * chunk), first.flip());
    assertEquals(1, bigSource.fetches.get(), "an intact chunk is served from disk");

    int[] fetched = {0};
    ByteBuffer bad = ByteBuffer.allocateDirect(100);
    cache.read(k, block, 3 * chunk, bad, () -> fetched[0]++);
    assertEquals(all.duplicate().position(3 * chunk).limit(3 * chunk + 100), bad.flip(),
        "the corrupt chunk's read gets S3's bytes");
    assertEquals(1, fetched[0]);
    assertEquals(2, bigSource.fetches.get());
    assertEquals(1, registry.counter(MetricNames.CACHE_DISK_CORRUPT).getCount());
    diskWrites.runAll(); // the re-fetched block is written again
    ByteBuffer again = ByteBuffer.allocateDirect(100);
    cache.read(k, block, 3 * chunk, again, () -> {});
    assertEquals(all.duplicate().position(3 * chunk).limit(3 * chunk + 100), again.flip());
    assertEquals(2, bigSource.fetches.get());
  }

  @Test
  void corruptDiskBlockIsRefetchedCorrectly() throws IOException {
    TieredBlockCache cache = cache(config(0, 4 << 20), registry);
    cache.get(key(1), BLOCK);
    diskWrites.runAll();
    String hash = BlockFileFormat.hash(key(1), BLOCK);
    Path file = dir.resolve("blocks").resolve(hash.substring(0, 2)).resolve(hash + ".blk");
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(new byte[] {42}), Files.size(file) - 1);
    }
    assertEquals(expected(key(1), BLOCK), cache.get(key(1), BLOCK));
    assertEquals(2, source.fetches.get());
    assertEquals(1, cache.stats().diskErrors());
    assertFalse(Files.exists(file), "the bad file is gone until the rewrite runs");
    diskWrites.runAll();
    assertEquals(expected(key(1), BLOCK), cache.get(key(1), BLOCK));
    assertEquals(2, source.fetches.get(), "the rewritten file is good");
  }

  @Test
  void diskReadFailureIsServedFromTheSourceAndCounted() throws IOException {
    TieredBlockCache cache = cache(config(0, 4 << 20), registry);
    cache.get(key(2), BLOCK);
    diskWrites.runAll();
    io.failReads = true;
    assertEquals(expected(key(2), BLOCK), cache.get(key(2), BLOCK));
    assertEquals(2, source.fetches.get());
    assertEquals(1, registry.counter(MetricNames.CACHE_DISK_ERRORS).getCount());
  }

  @Test
  void diskWriteFailureIsCountedAndNeverSurfaces() throws IOException {
    TieredBlockCache cache = cache(config(0, 4 << 20), registry);
    io.failWrites = true;
    assertEquals(expected(key(2), BLOCK), cache.get(key(2), BLOCK));
    diskWrites.runAll();
    assertEquals(1, cache.stats().diskErrors());
    assertFalse(cache.isCached(key(2)));
    assertEquals(DiskTier.DIRECTORY_RESERVE, cache.stats().diskBytes());
    io.failWrites = false;
    assertEquals(expected(key(2), BLOCK), cache.get(key(2), BLOCK));
    diskWrites.runAll();
    assertTrue(cache.isCached(key(2)));
  }

  @Test
  void fullWriteQueueCountsTheRefusalAndTheFetcherWritesTheBlockItself() throws IOException {
    TieredBlockCache cache = cache(
        config(0, 4 << 20).withMaxPendingDiskWriteBytes(BLOCK), registry);
    cache.get(key(0), BLOCK);
    cache.get(key(1), BLOCK);
    assertEquals(1, cache.stats().diskWritesDropped());
    assertTrue(cache.isOnDisk(key(1)), "written on the fetching thread");
    diskWrites.runAll();
    assertTrue(cache.isCached(key(0)));
  }

  @Test
  void concurrentMissesShareOneFetch() throws Exception {
    TieredBlockCache cache = cache(config(1 << 20, 4 << 20), registry);
    source.gate = new CountDownLatch(1);
    pool = Executors.newFixedThreadPool(16);
    List<Future<ByteBuffer>> results = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      results.add(pool.submit(() -> cache.get(key(9), BLOCK)));
    }
    source.entered.acquire(); // the one fetch has started and is held
    source.gate.countDown();
    for (Future<ByteBuffer> r : results) {
      assertEquals(expected(key(9), BLOCK), r.get());
    }
    assertEquals(1, source.fetches.get());
    CacheStats s = cache.stats();
    assertEquals(1, s.fetches());
    // Each of the other 15 either waited on the fetch, or came late and hit RAM, or came while
    // RAM had not taken the block and found it waiting for its disk write (a disk hit).
    assertEquals(15, s.fetchesShared() + s.ramHits() + s.diskHits());
  }

  @Test
  void fetchFailureReachesEveryWaiterAndALaterCallRetries() throws Exception {
    TieredBlockCache cache = cache(config(1 << 20, 4 << 20), registry);
    source.gate = new CountDownLatch(1);
    source.failure = new IOException("503 SlowDown");
    pool = Executors.newFixedThreadPool(8);
    List<Future<ByteBuffer>> results = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      results.add(pool.submit(() -> cache.get(key(4), BLOCK)));
    }
    source.entered.acquire();
    source.gate.countDown();
    for (Future<ByteBuffer> r : results) {
      ExecutionException e = assertThrows(ExecutionException.class, r::get);
      assertSame(IOException.class, e.getCause().getClass());
      assertEquals("503 SlowDown", e.getCause().getMessage());
    }
    assertFalse(cache.isCached(key(4)));
    source.failure = null;
    source.gate = null;
    int before = source.fetches.get();
    assertEquals(expected(key(4), BLOCK), cache.get(key(4), BLOCK));
    assertEquals(before + 1, source.fetches.get());
  }

  @Test
  void shortFetchIsAnError() {
    TieredBlockCache cache = cache(config(1 << 20, 4 << 20), registry);
    source.shortBy = 1;
    IOException e = assertThrows(IOException.class, () -> cache.get(key(0), BLOCK));
    assertTrue(e.getMessage().contains("source returned"), e.getMessage());
    assertFalse(cache.isCached(key(0)));
    assertEquals(0, diskWrites.pending());
  }

  @Test
  void interruptedWaiterGetsInterruptedIoExceptionAndKeepsTheFlag() throws Exception {
    TieredBlockCache cache = cache(config(1 << 20, 0), registry);
    source.gate = new CountDownLatch(1);
    pool = Executors.newFixedThreadPool(1);
    Future<ByteBuffer> leader = pool.submit(() -> cache.get(key(0), BLOCK));
    source.entered.acquire();
    AtomicReference<Throwable> thrown = new AtomicReference<>();
    AtomicReference<Boolean> flag = new AtomicReference<>();
    Thread waiter = new Thread(() -> {
      Thread.currentThread().interrupt();
      try {
        cache.get(key(0), BLOCK);
      } catch (Throwable t) {
        thrown.set(t);
      }
      flag.set(Thread.currentThread().isInterrupted());
    });
    waiter.start();
    waiter.join();
    assertTrue(thrown.get() instanceof InterruptedIOException, String.valueOf(thrown.get()));
    assertTrue(flag.get());
    source.gate.countDown();
    assertEquals(expected(key(0), BLOCK), leader.get(), "the leader is unaffected");
  }

  @Test
  void bothTiersOffFetchesEveryTime() throws IOException {
    TieredBlockCache cache = cache(config(0, 0), registry);
    assertEquals(expected(key(0), BLOCK), cache.get(key(0), BLOCK));
    assertEquals(expected(key(0), BLOCK), cache.get(key(0), BLOCK));
    assertEquals(2, source.fetches.get());
    assertFalse(cache.isCached(key(0)));
    assertEquals(0, diskWrites.pending());
    assertEquals(0L, registry.getGauges().get(MetricNames.CACHE_DISK_BYTES).getValue());
    assertFalse(Files.exists(dir.resolve("blocks")));
  }

  @Test
  void ramOffServesFromDisk() throws IOException {
    TieredBlockCache cache = cache(config(0, 4 << 20), registry);
    cache.get(key(0), BLOCK);
    diskWrites.runAll();
    assertEquals(expected(key(0), BLOCK), cache.get(key(0), BLOCK));
    assertEquals(1, source.fetches.get());
    assertEquals(1, cache.stats().diskHits());
  }

  @Test
  void closeDropsQueuedWritesAndUnregistersGauges() throws IOException {
    TieredBlockCache cache = cache(config(1 << 20, 4 << 20), registry);
    cache.get(key(0), BLOCK);
    cache.close();
    diskWrites.runAll(); // the queued task finds the queue closed
    String hash = BlockFileFormat.hash(key(0), BLOCK);
    assertFalse(Files.exists(
        dir.resolve("blocks").resolve(hash.substring(0, 2)).resolve(hash + ".blk")));
    assertFalse(registry.getGauges().containsKey(MetricNames.CACHE_RAM_BYTES));
    assertThrows(IOException.class, () -> cache.get(key(0), BLOCK));
  }

  @Test
  void ownedWriterThreadsStopOnClose() throws Exception {
    Set<Thread> before = writerThreads();
    TieredBlockCache cache = TieredBlockCache.create(config(1 << 20, 4 << 20), source, registry);
    cache.get(key(0), BLOCK); // queues a disk write, which starts a writer thread
    Set<Thread> owned = writerThreads();
    owned.removeAll(before);
    assertFalse(owned.isEmpty(), "the cache started no s3cache-disk-write- thread");
    cache.close();
    for (Thread t : owned) {
      t.join(10_000);
      assertFalse(t.isAlive(), "leaked " + t.getName());
    }
  }

  private static Set<Thread> writerThreads() {
    Set<Thread> threads = new HashSet<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().startsWith("s3cache-disk-write-")) {
        threads.add(t);
      }
    }
    return threads;
  }

  /** Preload's load-to-disk used to hand its leader's interrupt to readers waiting on its fetch. */
  @Test
  void interruptedPreloadLeaderDoesNotFailAReaderWaitingOnIt() throws Exception {
    CountDownLatch readerWaiting = new CountDownLatch(1);
    MetricRegistry reg = new MetricRegistry();
    reg.register(MetricNames.CACHE_FETCH_SHARED, new Counter() {
      @Override
      public void inc() {
        super.inc();
        readerWaiting.countDown();
      }
    });
    TieredBlockCache cache = cache(config(1 << 20, 4 << 20), reg);
    source.gate = new CountDownLatch(1);
    pool = Executors.newFixedThreadPool(2);
    AtomicReference<Thread> preloadThread = new AtomicReference<>();
    Future<Long> preload = pool.submit(() -> {
      preloadThread.set(Thread.currentThread());
      return cache.loadToDisk(key(7), BLOCK);
    });
    source.entered.acquire(); // the preload leads the fetch, held at the gate
    Future<ByteBuffer> reader = pool.submit(() -> cache.get(key(7), BLOCK));
    readerWaiting.await();
    preloadThread.get().interrupt();

    ExecutionException e = assertThrows(ExecutionException.class, preload::get);
    assertTrue(e.getCause() instanceof InterruptedIOException, String.valueOf(e.getCause()));
    source.gate.countDown(); // the fill runs on a fill thread: the preload's interrupt left it alone
    assertEquals(expected(key(7), BLOCK), reader.get());
    assertEquals(1, source.fetches.get());
  }
}
