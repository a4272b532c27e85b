package io.s3cache.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.testing.ManualExecutor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Readers of a block whose fetch is still streaming in. The source writes the block in steps and
 * holds before each on a semaphore the test releases, so what a reader may see is fixed by the
 * test, never by timing.
 */
@Timeout(60)
class StreamingFillTest {
  private static final int BLOCK = 1 << 20;
  private static final int STEP = 128 << 10;
  private static final int STEPS = BLOCK / STEP;

  @TempDir Path dir;
  private final SteppedSource source = new SteppedSource();
  private final ExecutorService readers = Executors.newCachedThreadPool();
  private TieredBlockCache cache;

  @AfterEach
  void tearDown() {
    source.steps.release(1000); // a source still held must not keep close() waiting
    if (cache != null) {
      cache.close();
    }
    readers.shutdownNow();
  }

  private TieredBlockCache cache() {
    cache = new TieredBlockCache(new CacheConfig(BLOCK, 8L * BLOCK, dir, 0, 4, 1 << 20, false),
        source, new MetricRegistry(), new ManualExecutor(), null, Runnable::run, BlockFileIo.DEFAULT,
        null);
    return cache;
  }

  private static BlockKey key(long i) {
    return new BlockKey("bucket", "train/shard-0002.tar", "\"v1\"", i);
  }

  private Future<ByteBuffer> read(BlockKey key, int offset, int length) {
    return readers.submit(() -> {
      ByteBuffer dst = ByteBuffer.allocate(length);
      cache.read(key, BLOCK, offset, dst, () -> {});
      return dst.flip();
    });
  }

  private static ByteBuffer expected(BlockKey key, int offset, int length) {
    return FakeBlockSource.expected(key, BLOCK, BLOCK).position(offset).limit(offset + length)
        .slice();
  }

  @Test
  void aReaderOfTheFirst128KiBReturnsBeforeTheBlockCompletes() throws Exception {
    cache();
    Future<ByteBuffer> first = read(key(0), 0, STEP);
    source.steps.release(1); // only the first 128 KiB may arrive
    assertEquals(expected(key(0), 0, STEP), first.get());
    assertEquals(1, source.stepsWritten.get(), "the block is still filling");
    source.steps.release(STEPS);
    assertEquals(expected(key(0), BLOCK - STEP, STEP), read(key(0), BLOCK - STEP, STEP).get());
    assertEquals(1, source.fetches.get());
  }

  @Test
  void concurrentReadersOfOneStreamingBlockEachGetTheirRangeAsItArrives() throws Exception {
    cache();
    List<Future<ByteBuffer>> ranges = new ArrayList<>();
    for (int i = 0; i < STEPS; i++) {
      ranges.add(read(key(1), i * STEP + 100, STEP - 200)); // inside step i
    }
    Future<ByteBuffer> whole = readers.submit(() -> cache.get(key(1), BLOCK));
    for (int i = 0; i < STEPS; i++) {
      source.steps.release(1);
      assertEquals(expected(key(1), i * STEP + 100, STEP - 200), ranges.get(i).get());
      if (i + 1 < STEPS) {
        assertFalse(ranges.get(i + 1).isDone(), "range " + (i + 1) + " before its bytes arrived");
        assertFalse(whole.isDone());
      }
    }
    assertEquals(expected(key(1), 0, BLOCK), whole.get());
    assertEquals(1, source.fetches.get(), "one fetch for every reader");
  }

  @Test
  void aBodyCutShortMidStreamFailsOnlyTheReadersPastWhatArrived() throws Exception {
    cache();
    source.failAfterSteps = 2;
    Future<ByteBuffer> early = read(key(2), STEP, STEP); // bytes that will arrive
    Future<ByteBuffer> late = read(key(2), 5 * STEP, STEP); // bytes that never will
    // Two steps per fetch: a reader whose thread reaches the cache only after the first fetch broke
    // off starts a second one, which must break off the same way rather than wait for permits.
    source.steps.release(4);
    assertEquals(expected(key(2), STEP, STEP), early.get());
    ExecutionException e = assertThrows(ExecutionException.class, late::get);
    assertSame(source.cut, e.getCause(), "the fetch's own failure (its errno) reaches the waiter");
    assertFalse(cache.isCached(key(2)), "a part of a block is never kept");

    source.failAfterSteps = -1; // the next read fetches again and gets every byte right
    source.steps.release(STEPS);
    assertEquals(expected(key(2), 5 * STEP, STEP), read(key(2), 5 * STEP, STEP).get());
    int fetches = source.fetches.get();
    assertTrue(fetches == 2 || fetches == 3, fetches + " fetches: the broken one(s), then the one that completes");
  }

  /** Writes a block in {@link #STEPS} steps, each after one permit of {@link #steps}. */
  private static final class SteppedSource implements BlockSource {
    final Semaphore steps = new Semaphore(0);
    final AtomicInteger fetches = new AtomicInteger();
    final AtomicInteger stepsWritten = new AtomicInteger();
    final IOException cut = new IOException("GET body broke off after 2 of 8 steps; attempts spent");
    volatile int failAfterSteps = -1;

    @Override
    public void fetch(BlockKey key, long offset, ByteBuffer dst) {
      throw new AssertionError("the cache streams fills");
    }

    @Override
    public void fetch(BlockKey key, long offset, ByteBuffer dst, IntConsumer arrived)
        throws IOException {
      fetches.incrementAndGet();
      stepsWritten.set(0);
      ByteBuffer all = FakeBlockSource.expected(key, BLOCK, dst.remaining());
      for (int i = 0; all.hasRemaining(); i++) {
        if (i == failAfterSteps) {
          throw cut;
        }
        steps.acquireUninterruptibly();
        dst.put(all.slice(all.position(), STEP));
        all.position(all.position() + STEP);
        stepsWritten.incrementAndGet();
        arrived.accept(all.position());
      }
    }
  }
}
