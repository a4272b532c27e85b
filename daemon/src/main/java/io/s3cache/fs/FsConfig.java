package io.s3cache.fs;

import java.time.Duration;
import java.util.Objects;

/**
 * How the filesystem presents a bucket.
 *
 * @param prefix key prefix the mount shows as its root: "" or ending in "/"
 * @param metadataTtl how long stat results and listings are trusted (also the kernel's attr/entry
 *     timeout); zero re-asks S3 every time
 */
public record FsConfig(
    String bucket, String prefix, Duration metadataTtl, int uid, int gid, int fileMode, int dirMode) {

  public FsConfig {
    Objects.requireNonNull(bucket, "bucket");
    Objects.requireNonNull(metadataTtl, "metadataTtl");
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
