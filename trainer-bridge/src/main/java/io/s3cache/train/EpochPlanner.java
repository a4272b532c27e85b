package io.s3cache.train;

import java.util.SplittableRandom;

/**
 * Each epoch's shuffled order of a dataset, from a seed: a Fisher-Yates permutation drawn from a
 * generator seeded with (seed, epoch). The sampler reads its order from here, and the same order
 * goes to the daemon as the epoch plan, so the daemon prefetches exactly what the loader reads next.
 */
public final class EpochPlanner {

  private final long seed;
  private final int size;

  public EpochPlanner(long seed, int size) {
    if (size < 0) {
      throw new IllegalArgumentException("dataset size must be >= 0, got " + size);
    }
    this.seed = seed;
    this.size = size;
  }

  public int size() {
    return size;
  }

  /** The order of epoch {@code epoch}: a permutation of {@code 0..size-1}, the same every call. */
  public int[] order(int epoch) {
    int[] order = new int[size];
    for (int i = 0; i < size; i++) {
      order[i] = i;
    }
    SplittableRandom rnd = new SplittableRandom(mix(seed) ^ mix(0x9E3779B97F4A7C15L * (epoch + 1L)));
    for (int i = size - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    return order;
  }

  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
