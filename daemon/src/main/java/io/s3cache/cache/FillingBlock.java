package io.s3cache.cache;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One block as its bytes arrive: the block's direct buffer and a watermark of how many bytes from
 * its start hold their final value. A reader waits only until its own range has arrived, not for
 * the whole block.
 *
 * <p><b>States.</b> {@code FILLING} (watermark below the length, no failure) moves to {@code
 * COMPLETE} (watermark = length) or {@code FAILED} (a failure recorded); both are final. The fill
 * thread alone writes the buffer, always above the watermark, and publishes with a volatile write
 * of the watermark after the bytes, so a reader that sees the watermark at or past its range's end
 * sees its bytes. Bytes below the watermark are never written again (a retried GET resumes above
 * it). A failure does not take back what arrived: a reader whose range is below the watermark gets
 * it even after the fill failed; every other reader gets the failure.
 *
 * <p><b>Buffer.</b> The fill owns one reference to its {@link BlockBuffer} from its start until it
 * ends (complete or failed); the tiers that keep the block take their own. A reader takes a
 * reference before it waits and drops it after its copy, so a buffer is never handed to another
 * block while a reader may still copy from it; a reader that comes too late (the fill ended and
 * every tier dropped the block) gets no reference and looks the block up again.
 *
 * <p><b>Waiting.</b> A reader that must wait announces the end of its range in {@code wakeAt}
 * (the lowest end any waiter needs) and waits on this object's monitor; the fill thread takes the
 * monitor to notify only once the watermark reaches {@code wakeAt}, so a fill publishes with one
 * volatile write per read from the socket and wakes a reader once for its range, not once per
 * read (read-ahead waits for the whole block: 128 wake-ups per 8 MiB block before). A waiter
 * announces under the monitor and then checks the watermark; the fill thread writes the
 * watermark and then reads {@code wakeAt} (both sequentially consistent), and resets it under the
 * monitor before notifying, after which every woken waiter announces again: no wake-up is lost.
 * Completion and failure wake every waiter.
 */
final class FillingBlock {

  private final BlockBuffer block; // the fill's own reference, released by the fill thread at the end
  private final int length;
  private static final int NOBODY = Integer.MAX_VALUE;
  /** The lowest range end a waiter needs; NOBODY when none waits. */
  private final AtomicInteger wakeAt = new AtomicInteger(NOBODY);
  private volatile int arrived; // what readers may copy
  private int received; // fill thread only: what the source has written
  private volatile Throwable failure;

  /** An empty block to fill through {@link #target()}; takes over the caller's reference. */
  FillingBlock(BlockBuffer block) {
    this.block = block;
    this.length = block.length();
  }

  int length() {
    return length;
  }

  /** A buffer over the whole block for the fill thread to write into (its own position). */
  ByteBuffer target() {
    return block.buffer().duplicate();
  }

  /**
   * Fill thread: the first {@code n} bytes are final. Never goes back. The block's last byte is
   * published by {@link #complete}, once the cache's tiers hold the block.
   */
  void arrived(int n) {
    if (n > length) {
      throw new IllegalArgumentException(n + " bytes arrived in a block of " + length);
    }
    if (n <= received) {
      return;
    }
    received = n;
    int visible = Math.min(n, length - 1);
    if (visible > arrived) {
      arrived = visible;
      if (wakeAt.get() <= visible) {
        wakeWaiters();
      }
    }
  }

  /** Fill thread: bytes the source has written so far. */
  int received() {
    return received;
  }

  /** Fill thread: every byte has arrived and the block is where later callers will find it. */
  void complete() {
    if (received != length) {
      throw new IllegalStateException(received + " of " + length + " bytes arrived");
    }
    arrived = length;
    wakeWaiters();
  }

  /**
   * The block's buffer, for the fill thread to hand to the tiers (each takes its own reference)
   * and then to release its own.
   */
  BlockBuffer block() {
    return block;
  }

  /** Fill thread: the fill ended without all bytes; waiters past the watermark get {@code t}. */
  void fail(Throwable t) {
    failure = t;
    wakeWaiters();
  }

  /**
   * Copies {@code [offset, offset + dst.remaining())} into {@code dst} once those bytes arrived,
   * holding a reference of its own meanwhile (taken before waiting, so the buffer outlives the
   * fill for this reader). False, with {@code dst} untouched, when the buffer is gone already:
   * the fill ended and every tier dropped the block; the caller looks it up again.
   */
  boolean read(int offset, ByteBuffer dst) throws IOException {
    if (!block.retain()) {
      return false;
    }
    readHeld(offset, dst);
    return true;
  }

  /**
   * {@link #read} for a caller that already holds a reference ({@link #retainForCaller}), which
   * this call gives up.
   */
  void readHeld(int offset, ByteBuffer dst) throws IOException {
    try {
      int n = dst.remaining();
      await(offset + n);
      dst.put(block.buffer().slice(offset, n));
    } finally {
      block.release();
    }
  }

  /** A reference for the caller that started the fill (it holds the fill's own until then). */
  void retainForCaller() {
    if (!block.retain()) {
      throw new IllegalStateException("a fill's buffer released before it started");
    }
  }

  /** Gives up a reference taken by {@link #retainForCaller} without reading. */
  void releaseForCaller() {
    block.release();
  }

  /** Waits until every byte arrived (the block is complete, and in the tiers its fill chose). */
  void awaitComplete() throws IOException {
    await(length);
  }

  private void await(int end) throws IOException {
    if (arrived >= end) {
      return;
    }
    try {
      synchronized (this) {
        while (true) {
          wakeAt.accumulateAndGet(end, Math::min); // before the check: see the class comment
          if (arrived >= end) {
            return;
          }
          Throwable t = failure;
          if (t != null) {
            SingleFlight.rethrow(t); // as itself: a fetch's IOException carries its errno
            throw new IOException(t);
          }
          wait();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted waiting for bytes [0, " + end + ") of a block");
    }
  }

  /** Wakes every waiter (each announces again what it still needs). */
  private void wakeWaiters() {
    if (wakeAt.get() != NOBODY) {
      synchronized (this) {
        wakeAt.set(NOBODY);
        notifyAll();
      }
    }
  }
}
