package io.s3cache.fs;

import java.time.Duration;
import java.util.Objects;

/**
 * How the filesystem presents a bucket.
 *
 * @param prefix key prefix the mount shows as its root: "" or ending in "/"
 * @param metadataTtl how long stat results and listings are trusted (also the kernel's attr/entry
 *     timeout); zero re-asks S3 every time
 * @param metadataMaxStale how long past {@code metadataTtl} an answer is still served while it is
 *     revalidated in the background (zero: never)
 */
public record FsConfig(String bucket, String prefix, Duration metadataTtl, Duration metadataMaxStale,
    int uid, int gid, int fileMode, int dirMode) {

  /** A config that never serves stale answers. */
  public FsConfig(String bucket, String prefix, Duration metadataTtl, int uid, int gid, int fileMode,
      int dirMode) {
    this(bucket, prefix, metadataTtl, Duration.ZERO, uid, gid, fileMode, dirMode);
  }

  public FsConfig {
    Objects.requireNonNull(bucket, "bucket");
    Objects.requireNonNull(metadataTtl, "metadataTtl");
    Objects.requireNonNull(metadataMaxStale, "metadataMaxStale");
    if (metadataMaxStale.isNegative()) {
      throw new IllegalArgumentException("metadata_max_stale must not be negative");
    }
    if (prefix == null || prefix.equals("/")) {
      prefix = "";
    }
    if (prefix.startsWith("/")) {
      prefix = prefix.substring(1);
    }
    if (!prefix.isEmpty() && !prefix.endsWith("/")) {
      prefix = prefix + "/";
    }
    if (metadataTtl.isNegative()) {
      throw new IllegalArgumentException("metadata_ttl must not be negative");
    }
  }
}
