package io.s3cache.e2e;

/**
 * Pseudo-random content where any byte can be computed from (seed, offset) alone, so a read at any
 * offset of any of thousands of files is checked without keeping the files in memory.
 */
final class PositionalContent {

  private PositionalContent() {}

  static byte at(long seed, long offset) {
    long z = seed * 0x9E3779B97F4A7C15L + (offset >>> 3) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    z ^= z >>> 31;
    return (byte) (z >>> ((offset & 7) * 8));
  }

  static byte[] bytes(long seed, int size) {
    byte[] b = new byte[size];
    for (int i = 0; i < size; i++) {
      b[i] = at(seed, i);
    }
    return b;
  }

  /** The first offset in [offset, offset + length) whose byte in {@code buf} is wrong, or -1. */
  static long firstMismatch(long seed, long offset, byte[] buf, int length) {
    for (int i = 0; i < length; i++) {
      if (buf[i] != at(seed, offset + i)) {
        return offset + i;
      }
    }
    return -1;
  }
}
