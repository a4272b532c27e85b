package io.s3cache.cache;

import com.codahale.metrics.Counter;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Background writes of fetched blocks into a slower tier (the disk tier), bounded by the bytes waiting, so a burst
 * of fetches never piles up unbounded direct memory behind a slow disk: past the bound {@link
 * #submit} refuses the write and counts it; the block cache then writes the block on the fetching
 * thread itself (so a slow disk slows fetches down instead of losing blocks).
 *
 * <p>Concurrency: {@link #submit} is lock-free (queue + byte counter); each submitted write
 * schedules one task on the executor that takes one write from the queue. {@code running} (guarded
 * by {@code lock}) counts tasks inside {@link CacheTier#insert}; {@link #close} sets {@code closed}
 * under the same lock, drops what is still queued and waits for the running ones, so no write
 * starts after close returns.
 *
 * <p>Buffers: a queued write holds a {@link BlockBuffer} reference of its own from {@link #submit}
 * until it is written, cancelled or dropped, released only after the block left {@code
 * unwritten}, so a look-up that finds it there either copies under its own reference or misses.
 */
final class DiskWriteQueue {

  private record Write(BlockKey key, BlockBuffer block) {}

  private final CacheTier disk;
  private final Executor executor;
  private final long maxPendingBytes;
  private final Counter dropped;
  private final Queue<Write> queue = new ConcurrentLinkedQueue<>();
  /**
   * Blocks queued or being written now, readable meanwhile: the RAM tier may refuse or evict a
   * block before its write lands, and a read then must not fetch it again (a write-behind buffer).
   */
  private final ConcurrentHashMap<BlockKey, BlockBuffer> unwritten = new ConcurrentHashMap<>();
  private final AtomicLong pendingBytes = new AtomicLong();
  private final Object lock = new Object();
  private int running; // guarded by lock
  private volatile boolean closed; // written under lock

  DiskWriteQueue(CacheTier disk, Executor executor, long maxPendingBytes, Counter dropped) {
    this.disk = disk;
    this.executor = executor;
    this.maxPendingBytes = maxPendingBytes;
    this.dropped = dropped;
  }

  /**
   * Queues a write of the block (whose buffer is never modified) under a reference of the queue's
   * own; false, no reference kept, if it was skipped.
   */
  boolean submit(BlockKey key, BlockBuffer block) {
    long n = block.length();
    if (closed) {
      dropped.inc();
      return false;
    }
    if (pendingBytes.addAndGet(n) > maxPendingBytes) {
      pendingBytes.addAndGet(-n);
      dropped.inc();
      return false;
    }
    if (!block.retain()) {
      pendingBytes.addAndGet(-n);
      return false;
    }
    Write write = new Write(key, block);
    unwritten.put(key, block);
    queue.add(write);
    if (closed && queue.remove(write)) {
      // close() drained the queue before this write was in it: nobody would ever release it.
      forget(write);
      dropped.inc();
      return false;
    }
    try {
      executor.execute(this::writeOne);
    } catch (RejectedExecutionException e) {
      if (queue.remove(write)) {
        forget(write);
        dropped.inc();
        return false;
      }
    }
    return true;
  }

  /** A write that is over (done, cancelled or dropped): out of sight first, then its reference. */
  private void forget(Write w) {
    unwritten.remove(w.key(), w.block());
    pendingBytes.addAndGet(-w.block().length());
    w.block().release();
  }

  /** Drops a queued (not yet started) write of {@code key}; true if there was one. */
  boolean cancel(BlockKey key) {
    for (Write w : queue) {
      if (w.key().equals(key) && queue.remove(w)) {
        forget(w);
        return true;
      }
    }
    return false;
  }

  /**
   * The block if it is queued or being written now, else null; unretained: copy from it only
   * under a reference of your own ({@link BlockBuffer#copyTo}).
   */
  BlockBuffer unwritten(BlockKey key) {
    return unwritten.get(key);
  }

  /** Bytes queued or being written now. */
  long pendingBytes() {
    return pendingBytes.get();
  }

  private void writeOne() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      running++;
    }
    try {
      Write write = queue.poll();
      if (write != null) {
        try {
          disk.insert(write.key(), write.block().buffer().duplicate());
        } finally {
          forget(write);
        }
      }
    } finally {
      synchronized (lock) {
        if (--running == 0) {
          lock.notifyAll();
        }
      }
    }
  }

  /** Waits until every write submitted so far has finished or been skipped. */
  void awaitIdle() throws InterruptedException {
    synchronized (lock) {
      while (pendingBytes.get() > 0 && !closed) {
        lock.wait(100); // woken when the last running write ends; the timeout covers a write not yet started
      }
    }
  }

  /** Drops queued writes and waits for those in progress (each is one block file write). */
  void close() {
    synchronized (lock) {
      closed = true;
    }
    for (Write w; (w = queue.poll()) != null; ) {
      forget(w);
      dropped.inc();
    }
    synchronized (lock) {
      while (running > 0) {
        try {
          lock.wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }
}
