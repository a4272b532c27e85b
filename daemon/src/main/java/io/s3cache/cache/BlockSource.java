package io.s3cache.cache;

import java.io.IOException;
import java.nio.ByteBuffer;

/** Where a missed block comes from (S3 in production, a fake in unit tests). */
@FunctionalInterface
public interface BlockSource {
  /**
   * Fills {@code dst} completely with the bytes of {@code [offset, offset + dst.remaining())} of the
   * object version named by {@code key}, or throws.
   */
  void fetch(BlockKey key, long offset, ByteBuffer dst) throws IOException;
}
