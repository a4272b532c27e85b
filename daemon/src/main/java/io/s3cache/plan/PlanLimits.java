package io.s3cache.plan;

/**
 * How far ahead of the reader a plan prefetches, validated once.
 *
 * @param windowFiles planned files at most ahead of the reader's position (opened or not)
 * @param windowBytes bytes at most planned ahead of the reader (at least one file is always allowed)
 * @param wholeFileBytes files up to this size are prefetched whole; larger ones only their first
 *     {@code headBlocks} blocks (a reader of a large file gets sequential read-ahead anyway)
 * @param headBlocks blocks prefetched of a file larger than {@code wholeFileBytes}
 */
public record PlanLimits(int windowFiles, long windowBytes, long wholeFileBytes, int headBlocks) {

  public static final int DEFAULT_WINDOW_FILES = 256;
  public static final long DEFAULT_WINDOW_BYTES = 256L << 20;
  public static final long DEFAULT_WHOLE_FILE_BYTES = 8L << 20;
  public static final int DEFAULT_HEAD_BLOCKS = 1;

  public PlanLimits {
    if (windowFiles < 1 || windowFiles > 1_000_000) {
      throw new IllegalArgumentException("plan window must be from 1 to 1000000 files, got " + windowFiles);
    }
    if (windowBytes < 1) {
      throw new IllegalArgumentException("plan windowBytes must be > 0, got " + windowBytes);
    }
    if (wholeFileBytes < 0) {
      throw new IllegalArgumentException("plan wholeFileBytes must be >= 0, got " + wholeFileBytes);
    }
    if (headBlocks < 0) {
      throw new IllegalArgumentException("plan headBlocks must be >= 0, got " + headBlocks);
    }
  }

  public static PlanLimits defaults() {
    return new PlanLimits(DEFAULT_WINDOW_FILES, DEFAULT_WINDOW_BYTES, DEFAULT_WHOLE_FILE_BYTES, DEFAULT_HEAD_BLOCKS);
  }
}
