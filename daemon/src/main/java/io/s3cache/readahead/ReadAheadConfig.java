package io.s3cache.readahead;

/**
 * Settings of read-ahead, validated once when built.
 *
 * @param maxWindowBytes setting {@code read_ahead}: the most bytes read ahead of one sequential
 *     reader; 0 turns read-ahead off
 * @param prefetchMemoryBytes setting {@code prefetch_memory}: the most bytes of prefetch fetches in
 *     flight at once across every handle (a global cap, not per handle)
 */
public record ReadAheadConfig(long maxWindowBytes, long prefetchMemoryBytes) {

  public static final long DEFAULT_MAX_WINDOW_BYTES = 64L << 20;
  public static final long DEFAULT_PREFETCH_MEMORY_BYTES = 512L << 20;

  public ReadAheadConfig {
    if (maxWindowBytes < 0) {
      throw new IllegalArgumentException(
          "read_ahead must be >= 0 (0 turns read-ahead off), got " + maxWindowBytes);
    }
    if (prefetchMemoryBytes < 0) {
      throw new IllegalArgumentException(
          "prefetch_memory must be >= 0, got " + prefetchMemoryBytes);
    }
    if (maxWindowBytes > 0 && prefetchMemoryBytes == 0) {
      throw new IllegalArgumentException(
          "prefetch_memory must be > 0 while read_ahead is on (set read_ahead = 0 to turn it off)");
    }
  }

  public static ReadAheadConfig defaults() {
    return new ReadAheadConfig(DEFAULT_MAX_WINDOW_BYTES, DEFAULT_PREFETCH_MEMORY_BYTES);
  }

  public static ReadAheadConfig disabled() {
    return new ReadAheadConfig(0, DEFAULT_PREFETCH_MEMORY_BYTES);
  }

  /** Whether read-ahead is on. */
  public boolean enabled() {
    return maxWindowBytes > 0;
  }
}
