package io.s3cache.cache;

import java.nio.file.Path;

/**
 * Settings of the block cache, validated once when built.
 *
 * @param blockSize bytes per block (every block but an object's last); a power of two between 64
 *     KiB and 64 MiB
 * @param ramCacheBytes budget of the RAM tier (off-heap); 0 turns the RAM tier off
 * @param cacheDir directory that holds the disk tier (its {@code blocks/} tree); may be null only
 *     when the disk tier is off
 * @param diskCacheBytes hard cap on the space the disk tier occupies on disk, directories
 *     included; 0 turns the disk tier off
 * @param maxConcurrentFetches most source (S3) fetches the cache has in flight at once
 * @param maxPendingDiskWriteBytes most bytes of fetched blocks waiting to be written to the disk
 *     tier; beyond it a write is skipped (the block stays served from RAM/S3)
 * @param fsyncDiskWrites whether each block file is fsynced before it is renamed into place (off
 *     by default: a torn file after a power loss fails its checksum and is refetched)
 * @param diskMinFreeBytes free-space floor on the cache directory's filesystem: the disk tier
 *     writes a block only if at least this much stays free afterwards (evicting its own blocks
 *     to keep it so); 0 means no floor
 * @param fillBufferBytes direct memory for whole blocks outside the RAM tier (fills running,
 *     blocks waiting for their disk write, free buffers), reused from block to block: the block
 *     buffer pool holds at most {@code ramCacheBytes / blockSize + fillBufferBytes / blockSize}
 *     buffers; a fill waits for one when all are in use. 0 turns the pool off (every fill
 *     allocates, and the garbage collector frees)
 */
public record CacheConfig(
    int blockSize,
    long ramCacheBytes,
    Path cacheDir,
    long diskCacheBytes,
    int maxConcurrentFetches,
    long maxPendingDiskWriteBytes,
    boolean fsyncDiskWrites,
    long diskMinFreeBytes,
    long fillBufferBytes) {

  public static final int MIN_BLOCK_SIZE = 64 << 10;
  public static final int MAX_BLOCK_SIZE = 64 << 20;
  public static final int DEFAULT_BLOCK_SIZE = 8 << 20;
  public static final long DEFAULT_RAM_CACHE_BYTES = 1L << 30;
  public static final long DEFAULT_DISK_CACHE_BYTES = 10L << 30;
  public static final int DEFAULT_MAX_CONCURRENT_FETCHES = 64;
  public static final long DEFAULT_MAX_PENDING_DISK_WRITE_BYTES = 256L << 20;
  /**
   * 16 blocks of 8 MiB: twice the default read-ahead window of one reader in flight, while the
   * daemon's resident memory beyond {@code ram_cache} stays near 300 MiB on a cold read.
   */
  public static final long DEFAULT_FILL_BUFFER_BYTES = 128L << 20;
  /**
   * Smallest non-zero disk cap: the directory tree alone ({@code blocks/} and its 256 fan-out
   * subdirectories) takes about 1 MiB.
   */
  public static final long MIN_DISK_CACHE_BYTES = 2L << 20;

  public CacheConfig {
    if (blockSize < MIN_BLOCK_SIZE
        || blockSize > MAX_BLOCK_SIZE
        || Integer.bitCount(blockSize) != 1) {
      throw new IllegalArgumentException(
          "blockSize must be a power of two between 64 KiB and 64 MiB, got " + blockSize);
    }
    if (ramCacheBytes < 0) {
      throw new IllegalArgumentException(
          "ramCacheBytes must be >= 0 (0 turns the RAM tier off), got " + ramCacheBytes);
    }
    if (diskCacheBytes != 0 && diskCacheBytes < MIN_DISK_CACHE_BYTES) {
      throw new IllegalArgumentException(
          "diskCacheBytes must be 0 (disk tier off) or at least 2 MiB, got " + diskCacheBytes);
    }
    if (diskCacheBytes > 0 && cacheDir == null) {
      throw new IllegalArgumentException("cacheDir is required when diskCacheBytes > 0");
    }
    if (maxConcurrentFetches < 1) {
      throw new IllegalArgumentException(
          "maxConcurrentFetches must be >= 1, got " + maxConcurrentFetches);
    }
    if (maxPendingDiskWriteBytes < 0) {
      throw new IllegalArgumentException(
          "maxPendingDiskWriteBytes must be >= 0, got " + maxPendingDiskWriteBytes);
    }
    if (diskMinFreeBytes < 0) {
      throw new IllegalArgumentException("diskMinFreeBytes must be >= 0, got " + diskMinFreeBytes);
    }
    if (fillBufferBytes < 0) {
      throw new IllegalArgumentException("fillBufferBytes must be >= 0, got " + fillBufferBytes);
    }
  }

  /** Settings with the default fill buffer memory. */
  public CacheConfig(int blockSize, long ramCacheBytes, Path cacheDir, long diskCacheBytes,
      int maxConcurrentFetches, long maxPendingDiskWriteBytes, boolean fsyncDiskWrites,
      long diskMinFreeBytes) {
    this(blockSize, ramCacheBytes, cacheDir, diskCacheBytes, maxConcurrentFetches,
        maxPendingDiskWriteBytes, fsyncDiskWrites, diskMinFreeBytes, DEFAULT_FILL_BUFFER_BYTES);
  }

  /** Settings with no free-space floor. */
  public CacheConfig(int blockSize, long ramCacheBytes, Path cacheDir, long diskCacheBytes,
      int maxConcurrentFetches, long maxPendingDiskWriteBytes, boolean fsyncDiskWrites) {
    this(blockSize, ramCacheBytes, cacheDir, diskCacheBytes, maxConcurrentFetches,
        maxPendingDiskWriteBytes, fsyncDiskWrites, 0);
  }

  /** Defaults for everything, with the disk tier under {@code cacheDir}. */
  public static CacheConfig defaults(Path cacheDir) {
    return new CacheConfig(
        DEFAULT_BLOCK_SIZE,
        DEFAULT_RAM_CACHE_BYTES,
        cacheDir,
        DEFAULT_DISK_CACHE_BYTES,
        DEFAULT_MAX_CONCURRENT_FETCHES,
        DEFAULT_MAX_PENDING_DISK_WRITE_BYTES,
        false);
  }

  public CacheConfig withBlockSize(int value) {
    return new CacheConfig(value, ramCacheBytes, cacheDir, diskCacheBytes,
        maxConcurrentFetches, maxPendingDiskWriteBytes, fsyncDiskWrites, diskMinFreeBytes, fillBufferBytes);
  }

  public CacheConfig withRamCacheBytes(long value) {
    return new CacheConfig(blockSize, value, cacheDir, diskCacheBytes,
        maxConcurrentFetches, maxPendingDiskWriteBytes, fsyncDiskWrites, diskMinFreeBytes, fillBufferBytes);
  }

  public CacheConfig withDiskCacheBytes(long value) {
    return new CacheConfig(blockSize, ramCacheBytes, cacheDir, value,
        maxConcurrentFetches, maxPendingDiskWriteBytes, fsyncDiskWrites, diskMinFreeBytes, fillBufferBytes);
  }

  public CacheConfig withMaxConcurrentFetches(int value) {
    return new CacheConfig(blockSize, ramCacheBytes, cacheDir, diskCacheBytes,
        value, maxPendingDiskWriteBytes, fsyncDiskWrites, diskMinFreeBytes, fillBufferBytes);
  }

  public CacheConfig withMaxPendingDiskWriteBytes(long value) {
    return new CacheConfig(blockSize, ramCacheBytes, cacheDir, diskCacheBytes,
        maxConcurrentFetches, value, fsyncDiskWrites, diskMinFreeBytes, fillBufferBytes);
  }

  public CacheConfig withFsyncDiskWrites(boolean value) {
    return new CacheConfig(blockSize, ramCacheBytes, cacheDir, diskCacheBytes,
        maxConcurrentFetches, maxPendingDiskWriteBytes, value, diskMinFreeBytes, fillBufferBytes);
  }

  public CacheConfig withDiskMinFreeBytes(long value) {
    return new CacheConfig(blockSize, ramCacheBytes, cacheDir, diskCacheBytes,
        maxConcurrentFetches, maxPendingDiskWriteBytes, fsyncDiskWrites, value, fillBufferBytes);
  }

  public CacheConfig withFillBufferBytes(long value) {
    return new CacheConfig(blockSize, ramCacheBytes, cacheDir, diskCacheBytes,
        maxConcurrentFetches, maxPendingDiskWriteBytes, fsyncDiskWrites, diskMinFreeBytes, value);
  }

  /** Most pooled block buffers: the RAM tier's whole blocks plus the fill buffer memory's. */
  public int maxPooledBuffers() {
    if (fillBufferBytes == 0) {
      return 0;
    }
    long n = ramCacheBytes / blockSize + Math.max(1, fillBufferBytes / blockSize);
    return (int) Math.min(Integer.MAX_VALUE, n);
  }

  /**
   * Most bytes of just-fetched blocks held until read ({@link RecentBlocks}): three quarters of
   * the fill buffer memory (96 MiB by default: a 64 MiB read-ahead window and the blocks being
   * read), the rest for fills; it gives blocks back when a fill waits for a buffer.
   */
  public long recentBlockBytes() {
    return fillBufferBytes / 4 * 3;
  }

  /** Whether the RAM tier is on. */
  public boolean ramTierEnabled() {
    return ramCacheBytes > 0;
  }

  /** Whether the disk tier is on. */
  public boolean diskTierEnabled() {
    return diskCacheBytes > 0;
  }
}
