package io.s3cache.s3;

import java.nio.ByteBuffer;

/**
 * Access to one bucket of an S3-compatible store: the S3 operations the read path needs, and the
 * write path's PUT, multipart upload, copy and delete.
 *
 * <p>Implementations are thread-safe. Every method either returns a complete answer or throws an
 * {@link ObjectClientException} whose {@link ObjectClientException.Kind} says what went wrong, after the
 * implementation's retries are spent.
 */
public interface ObjectClient extends AutoCloseable {

  /** The bucket this client reads. */
  String bucket();

  /**
   * Checks that the bucket exists and is readable with the configured credentials.
   *
   * @throws ObjectClientException of kind NO_SUCH_BUCKET, ACCESS_DENIED, UNREACHABLE, ...
   */
  void checkBucket() throws ObjectClientException;

  /**
   * One page of a LIST (ListObjectsV2).
   *
   * @param prefix key prefix, "" for the whole bucket
   * @param delimiter usually "/", or null for a flat listing
   * @param continuationToken null for the first page, else {@link ListPage#nextContinuationToken()}
   * @param maxKeys at most this many keys plus common prefixes (1..1000)
   */
  ListPage list(String prefix, String delimiter, String continuationToken, int maxKeys)
      throws ObjectClientException;

  /** HEAD of one object. Throws kind NOT_FOUND when there is no such key. */
  ObjectMeta head(String key) throws ObjectClientException;

  /**
   * Ranged GET of {@code [offset, offset + dst.remaining())} of the object version named by {@code
   * etag}, sent with {@code If-Match: etag}. Fills {@code dst} completely (its position ends at its
   * limit) or throws; a short body is an error, never a silent partial fill. A changed object yields
   * kind PRECONDITION_FAILED.
   */
  void getRange(String key, String etag, long offset, ByteBuffer dst) throws ObjectClientException;

  /**
   * {@link #getRange(String, String, long, ByteBuffer)} that tells {@code arrived}, on the calling
   * thread, how many bytes from {@code dst}'s start position hold their final value as they come
   * off the connection, so a reader may use them before the whole range is in. The count never
   * goes back and bytes below it are never written again: a retried attempt resumes above it. On
   * failure the bytes told stay valid (same version: the retry carries {@code If-Match}). The
   * default tells once, after the whole range.
   */
  default void getRange(String key, String etag, long offset, ByteBuffer dst,
      java.util.function.IntConsumer arrived) throws ObjectClientException {
    int start = dst.position();
    getRange(key, etag, offset, dst);
    arrived.accept(dst.position() - start);
  }

  /**
   * PUT of {@code length} bytes of {@code file} starting at {@code offset} as the whole object.
   *
   * @return the new version's metadata (its ETag as S3 sent it)
   */
  ObjectMeta put(String key, java.nio.file.Path file, long offset, long length) throws ObjectClientException;

  /** Starts a multipart upload; returns its upload id. */
  String createMultipart(String key) throws ObjectClientException;

  /**
   * Uploads part {@code partNumber} (1-based) of a multipart upload from {@code length} bytes of
   * {@code file} at {@code offset}; returns the part's ETag.
   */
  String uploadPart(String key, String uploadId, int partNumber, java.nio.file.Path file, long offset,
      long length) throws ObjectClientException;

  /** Completes a multipart upload from its parts' ETags, in part order; returns the new version. */
  ObjectMeta completeMultipart(String key, String uploadId, java.util.List<String> partEtags, long size)
      throws ObjectClientException;

  /** Aborts a multipart upload (its parts are discarded). */
  void abortMultipart(String key, String uploadId) throws ObjectClientException;

  /** Server-side copy of {@code from} to {@code to} (objects up to 5 GiB); returns the copy. */
  ObjectMeta copy(String from, String to) throws ObjectClientException;

  /** Deletes a key; deleting a missing key succeeds (as in S3). */
  void delete(String key) throws ObjectClientException;

  @Override
  void close();
}
