package io.s3cache.control;

import io.s3cache.s3.RequestCounts;

/**
 * One live mount, as GET /mounts lists it.
 *
 * @param requests the S3 requests this mount has sent since it was mounted
 */
public record MountInfo(String mountPoint, String source, String endpoint, int openFiles,
    RequestCounts requests) {

  /** A mount that has sent nothing yet. */
  public MountInfo(String mountPoint, String source, String endpoint, int openFiles) {
    this(mountPoint, source, endpoint, openFiles, RequestCounts.NONE);
  }
}
