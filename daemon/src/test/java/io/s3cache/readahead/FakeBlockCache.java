package io.s3cache.readahead;

import io.s3cache.cache.BlockCache;
import io.s3cache.cache.BlockKey;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A block cache for read-ahead tests: counts gets per key, remembers what it returned as cached,
 * fails the keys it is told to. Returns empty buffers (the prefetcher never looks at the bytes).
 */
final class FakeBlockCache implements BlockCache {
  private final int blockSize;
  final Map<BlockKey, AtomicInteger> gets = new ConcurrentHashMap<>();
  final Set<BlockKey> cached = ConcurrentHashMap.newKeySet();
  /** Blocks a device tier holds and memory does not: read-ahead still loads them (into memory). */
  final Set<BlockKey> onDeviceOnly = ConcurrentHashMap.newKeySet();
  final Set<BlockKey> failing = ConcurrentHashMap.newKeySet();

  FakeBlockCache(int blockSize) {
    this.blockSize = blockSize;
  }

  @Override
  public int blockSize() {
    return blockSize;
  }

  @Override
  public ByteBuffer get(BlockKey key, int length) throws IOException {
    gets.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
    if (failing.contains(key)) {
      throw new IOException("injected failure of " + key);
    }
    cached.add(key);
    return ByteBuffer.allocate(0);
  }

  @Override
  public boolean isCached(BlockKey key) {
    return cached.contains(key) || onDeviceOnly.contains(key);
  }

  @Override
  public boolean isInMemory(BlockKey key) {
    return cached.contains(key);
  }

  int gets(BlockKey key) {
    AtomicInteger n = gets.get(key);
    return n == null ? 0 : n.get();
  }

  int totalGets() {
    return gets.values().stream().mapToInt(AtomicInteger::get).sum();
  }

  @Override
  public void close() {}
}
