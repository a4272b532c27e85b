package io.s3cache.cache;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.function.IntConsumer;

/** Where a missed block comes from (S3 in production, a fake in unit tests). */
@FunctionalInterface
public interface BlockSource {
  /**
   * Fills {@code dst} completely with the bytes of {@code [offset, offset + dst.remaining())} of the
   * object version named by {@code key}, or throws.
   */
  void fetch(BlockKey key, long offset, ByteBuffer dst) throws IOException;

  /**
   * {@link #fetch(BlockKey, long, ByteBuffer)} that tells {@code arrived}, on the fetching thread,
   * how many bytes from {@code dst}'s start position hold their final value, as they arrive: the
   * count never goes back, and bytes below it are never written again (a retry resumes above it).
   * The default tells once, after the whole fetch.
   */
  default void fetch(BlockKey key, long offset, ByteBuffer dst, IntConsumer arrived)
      throws IOException {
    int start = dst.position();
    fetch(key, offset, dst);
    arrived.accept(dst.position() - start);
  }
}
