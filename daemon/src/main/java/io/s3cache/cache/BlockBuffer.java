package io.s3cache.cache;

import java.nio.ByteBuffer;

/**
 * One block's bytes in a direct buffer, with a count of who holds it: the fill writing it, the RAM
 * tier, the disk write queue, and each reader while it copies. When the count drops to zero the
 * buffer goes back to its {@link BufferPool} (or, unpooled, to the garbage collector) and this
 * object is dead for good: {@link #retain} fails from then on, so a reader can never copy from a
 * buffer that was handed to another block. A reused buffer gets a new {@code BlockBuffer}; the count
 * belongs to this one use of the buffer, not to the buffer, so an old holder's retain can never
 * succeed on the new use (no ABA).
 *
 * <p>The ownership rule: copy out of {@link #buffer} only between a successful {@link #retain} (or
 * a reference received from {@link BufferPool#acquire}) and the matching {@link #release}; never
 * keep a view of it past that.
 */
final class BlockBuffer {

  private final ByteBuffer origin; // the pool's buffer, handed back as it came
  private final ByteBuffer buffer; // position 0, limit = length; never moved
  private final int length;
  private final BufferPool pool; // null: unpooled, freed by the garbage collector
  private final RefCount refs = new RefCount(); // the creator's

  BlockBuffer(ByteBuffer buffer, int length, BufferPool pool) {
    if (!buffer.isDirect()) {
      throw new IllegalArgumentException("blocks live in direct buffers");
    }
    this.origin = buffer;
    this.buffer = buffer.duplicate().clear().limit(length);
    this.length = length;
    this.pool = pool;
  }

  /** A block in a buffer nobody pools (a tail block, a block written through the mount). */
  static BlockBuffer unpooled(ByteBuffer block) {
    ByteBuffer b = block.slice();
    return new BlockBuffer(b, b.remaining(), null);
  }

  int length() {
    return length;
  }

  /** Whether releasing the last reference gives the buffer back to a pool. */
  boolean pooled() {
    return pool != null;
  }

  /**
   * The block's bytes: position 0, limit {@link #length}. Only while holding a reference; the
   * holder must not move it (take a duplicate) nor keep it after its release.
   */
  ByteBuffer buffer() {
    return buffer;
  }

  /** Takes a reference; false once the last one was released (the buffer may be reused). */
  boolean retain() {
    return refs.retain();
  }

  /** Drops a reference; the last one hands the buffer back to its pool. */
  void release() {
    int r = refs.release();
    if (r == 0) {
      if (pool != null) {
        pool.giveBack(origin);
      }
    } else if (r < 0) {
      throw new IllegalStateException("block buffer released more often than retained");
    }
  }

  /**
   * Copies {@code [offset, offset + dst.remaining())} into {@code dst} (advancing it) under a
   * reference of its own; false, with {@code dst} untouched, if the buffer is gone already.
   */
  boolean copyTo(int offset, ByteBuffer dst) {
    if (!retain()) {
      return false;
    }
    try {
      dst.put(buffer.slice(offset, dst.remaining()));
      return true;
    } finally {
      release();
    }
  }

  /** References held now (for tests and assertions). */
  int refCount() {
    return refs.get();
  }
}
