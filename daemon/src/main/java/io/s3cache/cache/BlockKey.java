package io.s3cache.cache;

/**
 * A fixed-size range of one object version. A changed object has a new ETag and so new keys: stale
 * blocks are never mixed into a fresh read.
 *
 * @param index block number; the block covers {@code [index * blockSize, min(size, (index+1) * blockSize))}
 */
public record BlockKey(String bucket, String key, String etag, long index) {
  public BlockKey {
    if (index < 0) {
      throw new IllegalArgumentException("negative block index " + index);
    }
  }
}
