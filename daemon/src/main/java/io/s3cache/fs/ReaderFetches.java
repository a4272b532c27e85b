package io.s3cache.fs;

/**
 * Tells which S3 fetches a reader made on its own thread. {@link S3Filesystem#read} marks its thread
 * while it asks the block cache; the cache loads a missing block on the thread that asked first, so
 * the block source ({@code CacheRuntime}) calls {@link #countFetch} on the reader's thread exactly
 * when the reader itself went to S3 (not when it found the block cached or joined a prefetch).
 */
public final class ReaderFetches {

  private static final ThreadLocal<int[]> COUNT = new ThreadLocal<>();

  private ReaderFetches() {}

  /** Called by the block source for every S3 fetch it makes. */
  public static void countFetch() {
    int[] count = COUNT.get();
    if (count != null) {
      count[0]++;
    }
  }

  static int[] begin() {
    int[] count = new int[1];
    COUNT.set(count);
    return count;
  }

  static void end() {
    COUNT.remove();
  }
}
