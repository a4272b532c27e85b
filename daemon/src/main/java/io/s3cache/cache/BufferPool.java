package io.s3cache.cache;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Reusable direct buffers of one block size for fills, so a fetched block costs no fresh 8 MiB
 * allocation (which the JVM zero-fills) and leaves no direct memory behind for the garbage
 * collector to free some time later: a buffer comes back here when the last {@link BlockBuffer}
 * reference to it goes (the block left the RAM tier and the disk write queue, and no reader is
 * copying from it), and the next fill takes it.
 *
 * <p><b>Bound.</b> At most {@code maxBuffers} buffers exist at once, allocated on first need. The
 * block cache sizes it as the RAM tier's blocks plus {@code fill_memory}: the RAM tier holds at
 * most {@code ram_cache / block_size} of them, so at least {@code fill_memory} worth is always
 * outside it, in fills, in the disk write queue or free. Only whole blocks ({@code length ==
 * blockSize}) are pooled; an object's shorter last block (and every small object) gets a buffer of
 * its own size, unpooled.
 *
 * <p><b>Waiting.</b> When every buffer is in use, a fill first lets the RAM tier run its pending
 * evictions ({@link Events#beforeWait}), then waits here (holding its fetch permit) until one
 * comes back. Every buffer outside the RAM tier comes back without needing another buffer: a
 * running fill ends (its GET is bounded by the request timeout), the disk writer finishes a queued
 * write, a reader finishes its copy; and a fill that ends puts its block into the RAM tier, which
 * then evicts one. So the wait ends. As a safety net a fill that waited {@code maxWaitNanos} takes
 * an unpooled buffer instead (counted in {@code cache.buffers.fallbacks}) rather than wait on.
 *
 * <p>Memory: {@link BlockMemory#HUGE_PAGES} (native memory advised for transparent huge pages, not
 * zero-filled), freed when the pool drops a buffer after close; outside the JVM's direct-memory
 * limit, and bounded by the pool instead.
 *
 * <p>Concurrency: {@code free}, {@code allocated} and {@code closed} under {@code lock}; the
 * allocation itself runs outside it.
 */
final class BufferPool implements AutoCloseable {

  /** How long a fill waits for a pooled buffer before it takes an unpooled one. */
  static final long DEFAULT_MAX_WAIT_NANOS = TimeUnit.SECONDS.toNanos(5);

  /** What the pool reports as it works (metrics; tests hook into the wait). */
  interface Events {
    /**
     * Every buffer is in use: before a caller waits, a chance to give some back (the block cache
     * runs the RAM tier's pending evictions, which Caffeine may otherwise defer until its next
     * use). Runs outside the pool's lock.
     */
    default void beforeWait() {}

    /** A caller is about to wait for a buffer. */
    default void waiting() {}

    /** A caller gave up waiting and took an unpooled buffer. */
    default void fellBack() {}
  }

  private final int blockSize;
  private final int maxBuffers;
  private final long maxWaitNanos;
  private final Events events;
  private final BlockMemory memory;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition returned = lock.newCondition();
  private final ArrayDeque<ByteBuffer> free = new ArrayDeque<>();
  private int allocated; // buffers that exist now: free, or held through a BlockBuffer
  private int waiters; // acquire calls that found no buffer and have not returned yet
  /** {@link #takeLocked}'s answer for "allocate a new buffer in the slot just counted". */
  private static final ByteBuffer NEW = ByteBuffer.allocateDirect(0);
  private boolean closed;

  /**
   * @param maxBuffers most buffers in existence at once (0: nothing pooled, every block unpooled)
   */
  BufferPool(int blockSize, int maxBuffers, long maxWaitNanos, Events events) {
    this(blockSize, maxBuffers, maxWaitNanos, events, BlockMemory.HUGE_PAGES);
  }

  /** @param memory where pooled buffers come from, and go back to after close */
  BufferPool(int blockSize, int maxBuffers, long maxWaitNanos, Events events, BlockMemory memory) {
    if (blockSize <= 0 || maxBuffers < 0 || maxWaitNanos < 0) {
      throw new IllegalArgumentException("block size " + blockSize + ", " + maxBuffers
          + " buffers, wait " + maxWaitNanos + " ns");
    }
    this.blockSize = blockSize;
    this.maxBuffers = maxBuffers;
    this.maxWaitNanos = maxWaitNanos;
    this.events = events;
    this.memory = memory;
  }

  /**
   * A buffer for a block of {@code length} bytes, with one reference for the caller: pooled for a
   * whole block, waiting while every pooled buffer is in use; else a new one of exactly {@code
   * length} bytes. Its bytes are whatever a previous block left (a fill overwrites all of them
   * before a reader may see them).
   *
   * @throws InterruptedIOException if interrupted while waiting
   * @throws IOException if the pool closed while waiting
   */
  BlockBuffer acquire(int length) throws IOException {
    if (length != blockSize || maxBuffers == 0) {
      return BlockBuffer.unpooled(ByteBuffer.allocateDirect(length));
    }
    ByteBuffer taken = null;
    long left = maxWaitNanos;
    boolean nudged = false;
    boolean missed = false; // counted in waiters from its first miss until it returns
    try {
      while (true) {
        lock.lock();
        try {
          if (closed) {
            throw new IOException("block cache is closed");
          }
          taken = takeLocked();
          if (taken != null) {
            break;
          }
          if (!missed) {
            missed = true;
            waiters++;
          }
          if (nudged) {
            if (left <= 0) {
              events.fellBack();
              return BlockBuffer.unpooled(ByteBuffer.allocateDirect(length));
            }
            events.waiting();
            left = returned.awaitNanos(left);
            nudged = false; // woken: poll, and nudge again before waiting again
            continue;
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted waiting for a block buffer");
        } finally {
          lock.unlock();
        }
        events.beforeWait(); // outside the lock: it may give buffers back on this thread
        nudged = true;
      }
    } finally {
      if (missed) {
        lock.lock();
        try {
          waiters--;
        } finally {
          lock.unlock();
        }
      }
    }
    return wrap(taken, length);
  }

  /**
   * A buffer as {@link #acquire} gives, but never waits: null when every pooled buffer is in use,
   * a fill is waiting for one, or the pool is closed (read-ahead from the disk tier skips a block then rather than hold up a
   * fill).
   */
  BlockBuffer tryAcquire(int length) {
    if (length != blockSize || maxBuffers == 0) {
      return BlockBuffer.unpooled(ByteBuffer.allocateDirect(length));
    }
    ByteBuffer taken;
    lock.lock();
    try {
      if (closed) {
        return null;
      }
      if (waiters > 0) {
        return null; // a buffer coming back goes to the fill waiting for it
      }
      taken = takeLocked();
      if (taken == null) {
        return null;
      }
    } finally {
      lock.unlock();
    }
    return wrap(taken, length);
  }

  /**
   * Under the lock: a free buffer, else {@link #NEW} for a slot counted in {@code allocated} (the
   * buffer allocated outside the lock), else null when every buffer is in use.
   */
  private ByteBuffer takeLocked() {
    ByteBuffer reused = free.pollFirst();
    if (reused != null) {
      return reused;
    }
    if (allocated < maxBuffers) {
      allocated++;
      return NEW;
    }
    return null;
  }

  /** What {@link #takeLocked} took, as a block buffer: a reused one, or ({@link #NEW}) a new one. */
  private BlockBuffer wrap(ByteBuffer taken, int length) {
    if (taken != NEW) {
      return new BlockBuffer(taken, length, this);
    }
    try {
      // Aligned, so the disk tier can write the block with O_DIRECT straight from it.
      return new BlockBuffer(memory.allocate(blockSize), length, this);
    } catch (RuntimeException | Error e) { // out of memory, a failed native call: the slot is free again
      forget();
      throw e;
    }
  }

  /** A buffer whose last reference went: kept for the next fill, or dropped once closed. */
  void giveBack(ByteBuffer buffer) {
    lock.lock();
    try {
      if (closed) {
        allocated--;
        memory.free(buffer); // its last holder is gone: nothing can read it any more
        return;
      }
      free.addFirst(buffer); // most recently used first: its pages are still resident
      returned.signal();
    } finally {
      lock.unlock();
    }
  }

  private void forget() {
    lock.lock();
    try {
      allocated--;
      returned.signal();
    } finally {
      lock.unlock();
    }
  }

  /** Bytes of direct memory the pool's buffers take now, in use or free. */
  long allocatedBytes() {
    lock.lock();
    try {
      return (long) allocated * blockSize;
    } finally {
      lock.unlock();
    }
  }

  /** Buffers free for the next fill now. */
  int freeBuffers() {
    lock.lock();
    try {
      return free.size();
    } finally {
      lock.unlock();
    }
  }

  int maxBuffers() {
    return maxBuffers;
  }

  /**
   * Drops the free buffers (the garbage collector frees them) and wakes every waiter with an
   * IOException; buffers still held are dropped when their last reference goes.
   */
  @Override
  public void close() {
    lock.lock();
    try {
      closed = true;
      allocated -= free.size();
      free.forEach(memory::free);
      free.clear();
      returned.signalAll();
    } finally {
      lock.unlock();
    }
  }
}
