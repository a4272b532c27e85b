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
 * <p><b>Waiting.</b> Readers that must wait count themselves in {@code waiters} and wait on this
 * object's monitor; the fill thread takes the monitor to notify only while someone waits, so an
 * unwatched fill publishes with one volatile write per read from the socket. Both sides use
 * volatile fields and check again under the monitor, so no wake-up is lost.
 */
final class FillingBlock {

  private final ByteBuffer block; // never mutated: position 0, limit = length
  private final int length;
  private final AtomicInteger waiters = new AtomicInteger();
  private volatile int arrived; // what readers may copy
  private int received; // fill thread only: what the source has written
  private volatile Throwable failure;

  private FillingBlock(ByteBuffer block, int arrived) {
    this.block = block;
    this.length = block.capacity();
    this.arrived = arrived;
    this.received = arrived;
  }

  /** An empty block of {@code length} bytes to fill through {@link #target()}. */
  static FillingBlock empty(int length) {
    return new FillingBlock(ByteBuffer.allocateDirect(length), 0);
  }

  /** A block whose bytes are all there already (a tier's hit). */
  static FillingBlock complete(ByteBuffer block) {
    return new FillingBlock(block.duplicate().clear(), block.capacity());
  }

  int length() {
    return length;
  }

  /** A buffer over the whole block for the fill thread to write into (its own position). */
  ByteBuffer target() {
    return block.duplicate();
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
      wakeWaiters();
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

  /** The whole block's buffer (never mutated); its bytes are final only once complete. */
  ByteBuffer block() {
    return block;
  }

  /** Fill thread: the fill ended without all bytes; waiters past the watermark get {@code t}. */
  void fail(Throwable t) {
    failure = t;
    wakeWaiters();
  }

  /** Copies {@code [offset, offset + dst.remaining())} into {@code dst} once those bytes arrived. */
  void read(int offset, ByteBuffer dst) throws IOException {
    int n = dst.remaining();
    await(offset + n);
    dst.put(block.slice(offset, n));
  }

  /** The whole block (never mutated) once every byte arrived. */
  ByteBuffer awaitAll() throws IOException {
    await(length);
    return block;
  }

  private void await(int end) throws IOException {
    if (arrived >= end) {
      return;
    }
    waiters.incrementAndGet();
    try {
      synchronized (this) {
        while (arrived < end) {
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
    } finally {
      waiters.decrementAndGet();
    }
  }

  private void wakeWaiters() {
    if (waiters.get() > 0) {
      synchronized (this) {
        notifyAll();
      }
    }
  }
}
