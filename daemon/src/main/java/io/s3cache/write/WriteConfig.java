package io.s3cache.write;

import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.time.Duration;
import java.util.List;

/**
 * How a writable mount stages and uploads.
 *
 * @param multipartThreshold files of at least this many bytes are uploaded in parts
 * @param partSize bytes per part (raised for huge files so no upload needs more than 10,000 parts)
 * @param uploadThreads parts of one mount uploaded at once
 * @param copyMax largest existing object that an append or a write into it stages a full copy of;
 *     larger ones refuse such writes with EFBIG (0 refuses every write into an existing object)
 * @param tempNames glob patterns of temporary names: such files are uploaded when renamed (to the
 *     new name), or after {@code tempUploadDelay} if never renamed, not on close
 */
public record WriteConfig(long multipartThreshold, long partSize, int uploadThreads, long copyMax,
    List<String> tempNames, Duration tempUploadDelay) {

  public static final long MIN_PART_SIZE = 5L << 20;
  public static final long MAX_PART_SIZE = 5L << 30;
  public static final int MAX_PARTS = 10_000;

  public WriteConfig {
    if (partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
      throw new IllegalArgumentException("upload_part_size must be from 5M to 5G, got " + partSize);
    }
    if (multipartThreshold < partSize) {
      throw new IllegalArgumentException("multipart_threshold must be at least upload_part_size");
    }
    if (multipartThreshold > MAX_PART_SIZE) {
      throw new IllegalArgumentException("multipart_threshold must be at most 5G (S3's largest PUT)");
    }
    if (uploadThreads < 1) {
      throw new IllegalArgumentException("upload_threads must be at least 1");
    }
    if (copyMax < 0) {
      throw new IllegalArgumentException("write_copy_max must not be negative");
    }
    tempNames = List.copyOf(tempNames);
    if (tempUploadDelay.isNegative()) {
      throw new IllegalArgumentException("temp_upload_delay must not be negative");
    }
  }

  /** Defaults for tests: 64M threshold, 16M parts, 8 threads, 1G copies, the default temp names. */
  public static WriteConfig defaults() {
    return new WriteConfig(64L << 20, 16L << 20, 8, 1L << 30, List.of("*.tmp", "*.temp", "*.part", "*.partial"),
        Duration.ofSeconds(30));
  }

  public WriteConfig withMultipart(long threshold, long part) {
    return new WriteConfig(threshold, part, uploadThreads, copyMax, tempNames, tempUploadDelay);
  }

  public WriteConfig withCopyMax(long value) {
    return new WriteConfig(multipartThreshold, partSize, uploadThreads, value, tempNames, tempUploadDelay);
  }

  /** Whether a file name (the last path component) is a temporary name. */
  public boolean isTempName(String name) {
    Path p = Path.of(name);
    for (String glob : tempNames) {
      PathMatcher m = FileSystems.getDefault().getPathMatcher("glob:" + glob);
      if (m.matches(p)) {
        return true;
      }
    }
    return false;
  }

  /** The part size for an upload of {@code size} bytes (at most 10,000 parts). */
  public long partSizeFor(long size) {
    long min = (size + MAX_PARTS - 1) / MAX_PARTS;
    return Math.max(partSize, min);
  }
}
