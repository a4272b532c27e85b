package io.s3cache.cache;

import java.nio.ByteBuffer;

/**
 * One level of the block cache ({@link MemoryTier}, {@link DiskTier}), which {@link
 * TieredBlockCache} asks fastest first. A failing tier is a miss: no method throws for an I/O
 * failure or a bad stored block (the tier counts and logs it).
 *
 * <p>A look-up hands back a {@link Block}, not bytes: a tier may serve a range of a block without
 * reading the rest, and a block can go away (evicted, found corrupt) between the look-up and the
 * read, which is then a miss.
 */
interface CacheTier {

  /** A block the tier held at look-up; its reads may still miss. */
  interface Block {

    /** The block's length in bytes. */
    int length();

    /**
     * The whole block in a buffer of the caller's own: position 0, limit {@link #length}; null if
     * the tier lost it or found it bad.
     */
    ByteBuffer readAll();

    /**
     * Copies {@code [offsetInBlock, offsetInBlock + dst.remaining())} of the block into {@code dst}
     * (advancing its position); false on a miss, with {@code dst}'s position unchanged (the bytes
     * past it may have been overwritten: a miss is followed by a load that writes them).
     */
    default boolean read(int offsetInBlock, ByteBuffer dst) {
      if (offsetInBlock < 0 || offsetInBlock > length() - dst.remaining()) {
        throw new IndexOutOfBoundsException("range [" + offsetInBlock + ", +" + dst.remaining()
            + ") outside a block of " + length() + " bytes");
      }
      ByteBuffer all = readAll();
      if (all == null) {
        return false;
      }
      dst.put(all.duplicate().position(offsetInBlock).limit(offsetInBlock + dst.remaining()));
      return true;
    }
  }

  /**
   * A block held whole in memory: reads copy from its buffer under a reference of their own, so
   * the buffer cannot be reused for another block meanwhile; a buffer already given back is a
   * miss.
   */
  record Whole(BlockBuffer block) implements Block {
    @Override
    public int length() {
      return block.length();
    }

    /** A copy of the block in a new direct buffer (the pooled one may be reused afterwards). */
    @Override
    public ByteBuffer readAll() {
      ByteBuffer copy = ByteBuffer.allocateDirect(block.length());
      return block.copyTo(0, copy) ? copy.flip() : null;
    }

    @Override
    public boolean read(int offsetInBlock, ByteBuffer dst) {
      if (offsetInBlock < 0 || offsetInBlock > length() - dst.remaining()) {
        throw new IndexOutOfBoundsException("range [" + offsetInBlock + ", +" + dst.remaining()
            + ") outside a block of " + length() + " bytes");
      }
      return block.copyTo(offsetInBlock, dst);
    }
  }

  /** The block if this tier holds it with exactly {@code length} bytes, else null. */
  Block lookup(BlockKey key, int length);

  /**
   * Stores the block's remaining bytes (the caller's buffer is not moved, and never mutated
   * afterwards by anyone). Best effort: a tier without room, or failing, skips it.
   *
   * @return whether the tier holds the block now because of this call
   */
  boolean insert(BlockKey key, ByteBuffer block);

  /** Drops the block; whether the tier held it. */
  boolean invalidate(BlockKey key);

  /** Whether the tier holds the block now (a hint: it may be evicted at once). */
  boolean contains(BlockKey key);

  /** Bytes the tier occupies now (by its own accounting). */
  long bytes();

  /** Blocks the tier holds now. */
  long blockCount();
}
