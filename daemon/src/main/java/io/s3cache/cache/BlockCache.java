package io.s3cache.cache;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Blocks of object versions, served from the fastest tier that holds them and fetched once from the
 * {@link BlockSource} on a miss. Thread-safe; concurrent callers missing the same block share one
 * fetch.
 */
public interface BlockCache extends AutoCloseable {

  /** Size of every block but an object's last. */
  int blockSize();

  /**
   * The bytes of one block: a read-only buffer at position 0 whose limit is the block's length.
   * Callers may read it at any time later (it is never recycled under them).
   *
   * @param length the block's length: {@code min(blockSize, objectSize - index * blockSize)}
   * @throws IOException when the block is not cached and the source fails
   */
  ByteBuffer get(BlockKey key, int length) throws IOException;

  /**
   * {@link #get(BlockKey, int)} that also runs {@code onSourceFetch}, on the calling thread, when
   * this call itself fetches the block from the {@link BlockSource}: not when a tier holds it, nor
   * when it waits for a fetch another caller (a prefetch, another reader) started. The read path
   * counts a reader's own S3 GETs with it. The default never runs it.
   */
  default ByteBuffer get(BlockKey key, int length, Runnable onSourceFetch) throws IOException {
    return get(key, length);
  }

  /**
   * Makes sure a tier holds the block, fetching it if none does, without handing its bytes out
   * (read-ahead); returns once the block is complete. A cache with a device tier may also bring a
   * block only that tier holds into memory for the read that follows. The default gets the block
   * and drops it.
   *
   * @throws IOException when the block is not cached and the source fails
   */
  default void load(BlockKey key, int length) throws IOException {
    get(key, length);
  }

  /**
   * Copies {@code [offsetInBlock, offsetInBlock + dst.remaining())} of one block into {@code dst}
   * (advancing its position): what a FUSE read needs, without handing out the whole block. A tier
   * may serve the range without reading the rest of the block, and a fill may hand it over as soon
   * as those bytes arrived. {@code onSourceFetch} as in {@link #get(BlockKey, int, Runnable)}. The
   * default copies from {@link #get(BlockKey, int, Runnable)}.
   *
   * @throws IOException when the block is not cached and the source fails
   */
  default void read(BlockKey key, int length, int offsetInBlock, ByteBuffer dst,
      Runnable onSourceFetch) throws IOException {
    ByteBuffer block = get(key, length, onSourceFetch);
    dst.put(block.slice(offsetInBlock, dst.remaining()));
  }

  /**
   * Whether a tier holds the block now, without loading it (a hint: it may be evicted at once).
   * Read-ahead uses it to skip blocks that need no fetch; the default knows nothing and says no.
   */
  default boolean isCached(BlockKey key) {
    return false;
  }

  /**
   * Whether a read of the block would be served from memory now (a hint, as {@link #isCached}).
   * Read-ahead's look before any {@link #load}, under its caller's monitor, so it makes no
   * syscall: a block memory holds needs no load; one only a device tier holds still gets one,
   * which brings it towards memory ahead of its reader. The default: {@link #isCached}.
   */
  default boolean isInMemory(BlockKey key) {
    return isCached(key);
  }

  /**
   * Stores a block whose bytes the caller already has (a file just uploaded from its staged copy),
   * so a read of it needs no GET. Best effort: a tier without room skips it. The default does
   * nothing.
   */
  default void fill(BlockKey key, ByteBuffer block) {}

  @Override
  void close();
}
