package io.s3cache.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.nio.ByteBuffer;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The RAM tier: a byte-weighted Caffeine (W-TinyLFU) cache of blocks held in direct (off-heap)
 * buffers, so block bytes never become large heap arrays.
 *
 * <p>Concurrency: Caffeine is thread-safe; this class adds no state of its own. Stored buffers are
 * never mutated while stored (not even their position).
 *
 * <p><b>Buffers.</b> The tier holds one {@link BlockBuffer} reference per block and drops it when
 * Caffeine removes the block (evicted, replaced, invalidated), from the removal listener on the
 * maintenance executor; a pooled buffer then goes back to its pool once no reader copies from it.
 * A reader copies under a reference of its own ({@link BlockBuffer#copyTo}), so an eviction never
 * reuses a buffer under it: it gets the bytes, or (the buffer already gone) a miss.
 */
final class MemoryTier implements CacheTier {

  private static final Logger log = LoggerFactory.getLogger(MemoryTier.class);

  private final Cache<BlockKey, BlockBuffer> cache;

  /**
   * @param maximumBytes the budget; 0 makes a tier that holds nothing
   * @param executor where Caffeine runs its maintenance and removal listener ({@code
   *     Runnable::run} in tests)
   */
  MemoryTier(long maximumBytes, Executor executor) {
    if (maximumBytes < 0) {
      throw new IllegalArgumentException("negative RAM budget " + maximumBytes);
    }
    if (maximumBytes == 0) {
      cache = null;
      return;
    }
    // Weights are bytes: one block is at most 64 MiB so it fits an int, and Caffeine sums
    // weights in a long, so budgets far above 2 GiB need no coarser unit.
    cache =
        Caffeine.newBuilder()
            .maximumWeight(maximumBytes)
            .weigher((BlockKey k, BlockBuffer v) -> v.length())
            .executor(executor)
            // An evicted block's buffer goes back at once, on the thread that evicted it (a fill
            // waiting for a pooled buffer counts on that); the removal listener, which Caffeine
            // runs on its executor later, releases only what was removed otherwise.
            .<BlockKey, BlockBuffer>evictionListener((k, v, cause) -> v.release())
            .<BlockKey, BlockBuffer>removalListener((k, v, cause) -> {
              if (!cause.wasEvicted()) {
                v.release();
              }
            })
            .build();
  }

  /** The block, or null; unretained: for tests and look-ups that copy under their own reference. */
  BlockBuffer get(BlockKey key) {
    return cache == null ? null : cache.getIfPresent(key);
  }

  @Override
  public Block lookup(BlockKey key, int length) {
    BlockBuffer block = get(key);
    if (block == null) {
      return null;
    }
    if (block.length() != length) {
      // Cannot happen for a consistent caller (same key, same object version, same length).
      log.warn("block cache: {} cached with {} bytes but asked for {}; dropping it", key,
          block.length(), length);
      invalidate(key);
      return null;
    }
    return new Whole(block);
  }

  /**
   * Stores a direct buffer holding exactly the block's remaining bytes as it is, without copying:
   * the caller never mutates it afterwards. The tier frees it to the garbage collector.
   */
  @Override
  public boolean insert(BlockKey key, ByteBuffer block) {
    if (!block.isDirect()) {
      throw new IllegalArgumentException("RAM tier holds direct buffers only");
    }
    if (cache == null) {
      return false;
    }
    cache.put(key, BlockBuffer.unpooled(block));
    return true;
  }

  /**
   * Stores the block under a reference of the tier's own (false, none taken, if it cannot). For a
   * pooled buffer the eviction it causes runs now: Caffeine may defer it to its next use when
   * another thread holds its eviction lock, and meanwhile the tier would hold more pooled buffers
   * than its budget, which fills waiting for a buffer need back.
   */
  boolean insert(BlockKey key, BlockBuffer block) {
    if (cache == null || !block.retain()) {
      return false;
    }
    cache.put(key, block);
    if (block.pooled()) {
      cache.cleanUp();
    }
    return true;
  }

  @Override
  public boolean invalidate(BlockKey key) {
    return cache != null && cache.asMap().remove(key) != null;
  }

  @Override
  public boolean contains(BlockKey key) {
    return cache != null && cache.asMap().containsKey(key);
  }

  /** Bytes of blocks currently held (the weighted size). */
  @Override
  public long bytes() {
    return cache == null ? 0 : cache.policy().eviction().orElseThrow().weightedSize().orElse(0);
  }

  @Override
  public long blockCount() {
    return cache == null ? 0 : cache.estimatedSize();
  }

  /** Runs pending maintenance (evictions) now; for tests and shutdown. */
  void cleanUp() {
    if (cache != null) {
      cache.cleanUp();
    }
  }

  void clear() {
    if (cache != null) {
      cache.invalidateAll();
      cache.cleanUp();
    }
  }
}
