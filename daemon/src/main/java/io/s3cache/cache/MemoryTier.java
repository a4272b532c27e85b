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
 * never mutated after {@link #insert} (not even their position): callers only ever see duplicates or
 * read-only views of them.
 *
 * <p>Buffers are <em>not</em> freed explicitly on eviction: a reader may still hold a view of an
 * evicted block. Each direct buffer's memory is released by its cleaner once the GC finds no view
 * left, so off-heap use can run somewhat above {@code maximumBytes} between collections
 * ({@code -XX:MaxDirectMemorySize} bounds it).
 */
final class MemoryTier implements CacheTier {

  private static final Logger log = LoggerFactory.getLogger(MemoryTier.class);

  private final Cache<BlockKey, ByteBuffer> cache;

  /**
   * @param maximumBytes the budget; 0 makes a tier that holds nothing
   * @param executor where Caffeine runs its maintenance ({@code Runnable::run} in tests)
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
            .weigher((BlockKey k, ByteBuffer v) -> v.capacity())
            .executor(executor)
            .build();
  }

  /** The block, or null; the returned buffer must not be mutated (share views only). */
  ByteBuffer get(BlockKey key) {
    return cache == null ? null : cache.getIfPresent(key);
  }

  @Override
  public Block lookup(BlockKey key, int length) {
    ByteBuffer block = get(key);
    if (block == null) {
      return null;
    }
    if (block.capacity() != length) {
      // Cannot happen for a consistent caller (same key, same object version, same length).
      log.warn("block cache: {} cached with {} bytes but asked for {}; dropping it", key,
          block.capacity(), length);
      invalidate(key);
      return null;
    }
    return new Whole(block);
  }

  /**
   * Stores a direct buffer holding exactly the block ({@code capacity} = block length) as it is,
   * without copying: the caller never mutates it afterwards.
   */
  @Override
  public boolean insert(BlockKey key, ByteBuffer block) {
    if (!block.isDirect()) {
      throw new IllegalArgumentException("RAM tier holds direct buffers only");
    }
    if (cache == null) {
      return false;
    }
    cache.put(key, block);
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
