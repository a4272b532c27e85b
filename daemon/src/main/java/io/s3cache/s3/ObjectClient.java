package io.s3cache.s3;

import java.nio.ByteBuffer;

/**
 * Read access to one bucket of an S3-compatible store: the only S3 operations the read path needs.
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

  @Override
  void close();
}
