package io.s3cache.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class BufferPoolTest {
  private static final int BLOCK = 64 << 10;
  private static final long FOREVER = TimeUnit.HOURS.toNanos(1);

  private final AtomicInteger waits = new AtomicInteger();
  private final AtomicInteger fallbacks = new AtomicInteger();
  private final ExecutorService threads = Executors.newCachedThreadPool();

  @AfterEach
  void tearDown() {
    threads.shutdownNow();
  }

  private BufferPool pool(int buffers, long maxWaitNanos, CountDownLatch waiting) {
    return new BufferPool(BLOCK, buffers, maxWaitNanos, new BufferPool.Events() {
      @Override
      public void waiting() {
        waits.incrementAndGet();
        if (waiting != null) {
          waiting.countDown();
        }
      }

      @Override
      public void fellBack() {
        fallbacks.incrementAndGet();
      }
    });
  }

  private static void fill(BlockBuffer b, byte value) {
    ByteBuffer dst = b.buffer().duplicate();
    while (dst.hasRemaining()) {
      dst.put(value);
    }
  }

  @Test
  void aBufferComesBackOnlyWithItsLastReferenceAndIsReusedThen() throws IOException {
    BufferPool pool = pool(1, 0, null);
    BlockBuffer first = pool.acquire(BLOCK);
    assertTrue(first.pooled());
    assertTrue(first.retain());
    first.release();
    assertEquals(0, pool.freeBuffers(), "one reference is still held");
    first.release();
    assertEquals(1, pool.freeBuffers());
    assertFalse(first.retain(), "a released use of a buffer can never be taken again");
    BlockBuffer second = pool.acquire(BLOCK);
    assertTrue(second.pooled());
    assertEquals(1, pool.allocatedBytes() / BLOCK, "reused, not allocated again");
    assertFalse(first.retain(), "the old use stays dead while the buffer serves another block");
    second.release();
  }

  /** Read-ahead from the disk tier takes a buffer only when one is free at once. */
  @Test
  void tryAcquireNeverWaits() throws IOException {
    BufferPool pool = pool(1, FOREVER, null);
    BlockBuffer first = pool.tryAcquire(BLOCK);
    assertTrue(first.pooled());
    assertNull(pool.tryAcquire(BLOCK), "the only buffer is in use: none, at once");
    assertEquals(0, waits.get());
    BlockBuffer tail = pool.tryAcquire(100);
    assertFalse(tail.pooled(), "a short block gets its own buffer, as with acquire");
    first.release();
    BlockBuffer again = pool.tryAcquire(BLOCK);
    assertTrue(again.pooled());
    assertEquals(1, pool.allocatedBytes() / BLOCK, "the free buffer was reused");
    again.release();
    pool.close();
    assertNull(pool.tryAcquire(BLOCK), "none from a closed pool");
  }

  /** A buffer given back while a fill waits goes to that fill, never to read-ahead's tryAcquire. */
  @Test
  void tryAcquireLeavesABufferToAWaitingFill() throws Exception {
    CountDownLatch waiting = new CountDownLatch(1);
    BufferPool pool = pool(1, FOREVER, waiting);
    BlockBuffer first = pool.acquire(BLOCK);
    Future<BlockBuffer> fill = threads.submit(() -> pool.acquire(BLOCK));
    assertTrue(waiting.await(10, TimeUnit.SECONDS));
    first.release();
    assertNull(pool.tryAcquire(BLOCK), "the waiting fill comes first");
    BlockBuffer got = fill.get(10, TimeUnit.SECONDS);
    assertTrue(got.pooled());
    got.release();
    BlockBuffer after = pool.tryAcquire(BLOCK);
    assertTrue(after.pooled(), "no fill waits now");
    after.release();
  }

  /** A reader copying from an evicted RAM block keeps its buffer from being handed to a new fill. */
  @Test
  void aBufferIsNeverReusedWhileAReaderHoldsIt() throws IOException {
    BufferPool pool = pool(1, 0, null);
    MemoryTier ram = new MemoryTier(1 << 20, Runnable::run);
    BlockKey key = new BlockKey("b", "k", "e", 0);
    BlockBuffer block = pool.acquire(BLOCK);
    fill(block, (byte) 'A');
    assertTrue(ram.insert(key, block));
    block.release(); // the fill's reference: only the RAM tier holds it now
    assertTrue(block.retain(), "a reader starts copying");
    assertTrue(ram.invalidate(key)); // evicted under the reader

    BlockBuffer next = pool.acquire(BLOCK); // the only pooled buffer is the reader's
    assertFalse(next.pooled(), "a new fill does not get the buffer a reader holds");
    fill(next, (byte) 'B');
    ByteBuffer copied = ByteBuffer.allocate(BLOCK);
    copied.put(block.buffer().duplicate());
    for (int i = 0; i < BLOCK; i++) {
      assertEquals('A', copied.get(i));
    }
    block.release(); // the reader is done
    assertEquals(1, pool.freeBuffers());
    assertTrue(pool.acquire(BLOCK).pooled());
    assertEquals(1, fallbacks.get());
  }

  @Test
  void aFillWaitsForABufferWhenAllAreInUseAndGetsTheFirstOneBack() throws Exception {
    CountDownLatch waiting = new CountDownLatch(1);
    BufferPool pool = pool(1, FOREVER, waiting);
    BlockBuffer held = pool.acquire(BLOCK);
    Future<BlockBuffer> second = threads.submit(() -> pool.acquire(BLOCK));
    waiting.await();
    assertFalse(second.isDone());
    held.release();
    BlockBuffer got = second.get();
    assertTrue(got.pooled());
    assertEquals(0, fallbacks.get());
    assertEquals(BLOCK, pool.allocatedBytes());
  }

  @Test
  void closingWakesAWaiterWithAnError() throws Exception {
    CountDownLatch waiting = new CountDownLatch(1);
    BufferPool pool = pool(1, FOREVER, waiting);
    BlockBuffer held = pool.acquire(BLOCK);
    Future<BlockBuffer> second = threads.submit(() -> pool.acquire(BLOCK));
    waiting.await();
    pool.close();
    Exception e = assertThrows(java.util.concurrent.ExecutionException.class, second::get);
    assertTrue(e.getCause() instanceof IOException, e.toString());
    held.release(); // dropped, not kept, after close
    assertEquals(0, pool.freeBuffers());
    assertEquals(0, pool.allocatedBytes());
  }

  /** Both allocators give aligned direct buffers of the size asked (O_DIRECT writes need it). */
  @Test
  void pooledBuffersAreAlignedDirectBuffersOfTheBlockSize() throws IOException {
    for (BlockMemory memory : new BlockMemory[] {BlockMemory.HUGE_PAGES, BlockMemory.JVM}) {
      BufferPool pool = new BufferPool(BLOCK, 2, 0, new BufferPool.Events() {}, memory);
      BlockBuffer b = pool.acquire(BLOCK);
      assertTrue(b.buffer().isDirect());
      assertEquals(BLOCK, b.buffer().remaining());
      assertEquals(0, b.buffer().alignmentOffset(0, BlockFileFormat.ALIGNMENT));
      fill(b, (byte) 7);
      assertEquals(7, b.buffer().get(BLOCK - 1));
      b.release();
      pool.close(); // frees the buffer it got back
      assertEquals(0, pool.allocatedBytes());
    }
  }

  @Test
  void shorterBlocksAreNotPooled() throws IOException {
    BufferPool pool = pool(4, 0, null);
    BlockBuffer tail = pool.acquire(1000);
    assertFalse(tail.pooled());
    assertEquals(1000, tail.length());
    assertEquals(1000, tail.buffer().limit());
    tail.release();
    assertEquals(0, pool.allocatedBytes());
  }
}
