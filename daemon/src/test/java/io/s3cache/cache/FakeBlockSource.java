package io.s3cache.cache;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An in-memory {@link BlockSource}: every object's bytes are a pure function of key and offset.
 * Counts fetches and can be made to fail, to hold fetches on a latch, or to return short.
 */
final class FakeBlockSource implements BlockSource {
  final AtomicInteger fetches = new AtomicInteger();
  /** Released once each time a fetch starts. */
  final Semaphore entered = new Semaphore(0);
  /** While set, fetches wait for it to open. */
  volatile CountDownLatch gate;
  /** While set, every fetch throws it (after passing the gate). */
  volatile IOException failure;
  /** Bytes a fetch leaves unfilled. */
  volatile int shortBy;

  @Override
  public void fetch(BlockKey key, long offset, ByteBuffer dst) throws IOException {
    fetches.incrementAndGet();
    entered.release();
    CountDownLatch g = gate;
    if (g != null) {
      try {
        g.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("fake fetch interrupted");
      }
    }
    IOException f = failure;
    if (f != null) {
      throw f;
    }
    int n = dst.remaining() - shortBy;
    for (int i = 0; i < n; i++) {
      dst.put(byteAt(key, offset + i));
    }
  }

  static byte byteAt(BlockKey key, long offset) {
    long h = key.hashCode() * 0x9E3779B97F4A7C15L + offset * 31 + (offset >>> 11);
    return (byte) (h ^ (h >>> 29));
  }

  /** The bytes block {@code key} should hold. */
  static ByteBuffer expected(BlockKey key, int blockSize, int length) {
    ByteBuffer b = ByteBuffer.allocate(length);
    long offset = key.index() * (long) blockSize;
    for (int i = 0; i < length; i++) {
      b.put(byteAt(key, offset + i));
    }
    return b.flip();
  }
}
