package io.s3cache.s3;

import java.time.Instant;

/**
 * What a HEAD or a LIST says about one object version. {@code etag} keeps its quotes as S3 sends it.
 *
 * <p>Some S3-compatible stores send no ETag (for example files placed into a filesystem-backed
 * store). Such an object's version is its size and Last-Modified: its {@code etag} is then a
 * synthetic {@code s3cache-unversioned:SIZE:MILLIS} ({@link #fromStore}, for what a LIST or HEAD
 * answered), never sent to S3 as {@code If-Match} (see {@link #unversionedSince}), so blocks are
 * still keyed by version and a changed object never reads old blocks.
 */
public record ObjectMeta(String key, long size, Instant lastModified, String etag) {

  private static final String UNVERSIONED = "s3cache-unversioned:";

  /** What a LIST or HEAD said; an ETag made up from size and Last-Modified when it had none. */
  public static ObjectMeta fromStore(String key, long size, Instant lastModified, String etag) {
    if (etag == null || etag.isEmpty()) {
      etag = UNVERSIONED + size + ":" + (lastModified == null ? 0 : lastModified.toEpochMilli());
    }
    return new ObjectMeta(key, size, lastModified, etag);
  }

  /**
   * For an ETag made up by {@link ObjectMeta} (the store sent none): the Last-Modified it stands
   * for, to send as {@code If-Unmodified-Since} instead of {@code If-Match}; null for a real ETag.
   */
  public static Instant unversionedSince(String etag) {
    if (etag == null || !etag.startsWith(UNVERSIONED)) {
      return null;
    }
    return Instant.ofEpochMilli(Long.parseLong(etag.substring(etag.lastIndexOf(':') + 1)));
  }

  /**
   * The {@code If-Unmodified-Since} a GET of this version sends, or null for a version with an
   * ETag: HTTP dates have whole seconds while a store may keep milliseconds (S3Proxy's filesystem
   * backend answers 412 to the exact second), so the rest of that second is allowed.
   */
  public static Instant unmodifiedSinceBound(String etag) {
    Instant since = unversionedSince(etag);
    return since == null ? null : Instant.ofEpochSecond(Math.floorDiv(since.toEpochMilli(), 1000) + 1);
  }
}
