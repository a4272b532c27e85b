package io.s3cache.s3;

import com.codahale.metrics.Counter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import io.s3cache.metrics.MetricNames;
import io.s3cache.s3.S3ErrorMapper.Operation;
import io.s3cache.s3.S3ErrorMapper.RangeNotSatisfiedException;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.function.IntConsumer;
import software.amazon.awssdk.core.exception.RetryableException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.AbortableInputStream;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CommonPrefix;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadBucketRequest;
import software.amazon.awssdk.services.s3.model.HeadObjectRequest;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.CopyObjectResponse;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;
import software.amazon.awssdk.core.sync.RequestBody;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.io.InputStream;
import java.time.Instant;
import java.util.ArrayList;

/**
 * {@link ObjectClient} over the AWS SDK v2 synchronous {@link S3Client}. Built by {@link
 * ObjectClients}, which configures retries (the SDK's standard strategy), timeouts and the HTTP
 * pool; this class only shapes requests, fills buffers, times calls and maps errors.
 *
 * <p>Retries: the SDK retries 5xx, throttling, timeouts and broken connections itself. A GET body
 * that ends early is raised as a {@link RetryableException} from inside the response transformer,
 * so the SDK retries it under the same strategy and attempt budget; each attempt refills the
 * buffer from its start position.
 *
 * <p>Thread-safe: the SDK client is, and every call keeps its state on its own stack.
 */
final class SdkObjectClient implements ObjectClient {

  /** Copy buffer for direct destination buffers; one per call, never a whole object. */
  private static final int CHUNK = 64 * 1024;

  private static final IntConsumer NOT_WATCHED = n -> {};

  private final S3Client s3;
  private final int listAttempts;
  private final String bucket;
  private final AutoCloseable ownedResource;
  private final java.util.function.Consumer<String> credentialsRefused;
  private final S3ErrorMapper errors;
  private final Timer getTimer;
  private final Timer headTimer;
  private final Timer listTimer;
  private final Counter failures;
  private final Counter bytesReceived;
  private final Timer putTimer;
  private final Timer partTimer;
  private final Timer copyTimer;
  private final Timer deleteTimer;
  private final Counter bytesSent;

  /**
   * @param ownedResource closed after the SDK client (e.g. a credentials provider this client
   *     created), or null
   * @param listAttempts attempts of a LIST whose answer breaks off while the SDK parses it (that
   *     failure escapes the SDK's own retries as an {@link UncheckedIOException}), or of a
   *     CreateMultipartUpload whose cut-short answer parses without an upload id: max_attempts
   */
  SdkObjectClient(S3Client s3, String bucket, String endpointLabel, MetricRegistry metrics,
      AutoCloseable ownedResource, int listAttempts) {
    this(s3, bucket, endpointLabel, metrics, ownedResource, listAttempts, reason -> {});
  }

  /** @param credentialsRefused told (one line) of every request that failed for its credentials */
  SdkObjectClient(S3Client s3, String bucket, String endpointLabel, MetricRegistry metrics,
      AutoCloseable ownedResource, int listAttempts, java.util.function.Consumer<String> credentialsRefused) {
    this.credentialsRefused = credentialsRefused;
    this.listAttempts = listAttempts;
    this.s3 = s3;
    this.bucket = bucket;
    this.ownedResource = ownedResource;
    this.errors = new S3ErrorMapper(bucket, endpointLabel);
    this.getTimer = metrics.timer(MetricNames.S3_GET);
    this.headTimer = metrics.timer(MetricNames.S3_HEAD);
    this.listTimer = metrics.timer(MetricNames.S3_LIST);
    this.failures = metrics.counter(MetricNames.S3_ERRORS);
    this.bytesReceived = metrics.counter(MetricNames.S3_BYTES);
    this.putTimer = metrics.timer(MetricNames.S3_PUT);
    this.partTimer = metrics.timer(MetricNames.S3_PUT_PART);
    this.copyTimer = metrics.timer(MetricNames.S3_COPY);
    this.deleteTimer = metrics.timer(MetricNames.S3_DELETE);
    this.bytesSent = metrics.counter(MetricNames.S3_BYTES_SENT);
  }

  @Override
  public String bucket() {
    return bucket;
  }

  @Override
  public void checkBucket() throws ObjectClientException {
    try {
      s3.headBucket(HeadBucketRequest.builder().bucket(bucket).build());
    } catch (SdkException | UncheckedIOException e) {
      throw fail(Operation.CHECK_BUCKET, null, e);
    }
  }

  @Override
  public ListPage list(String prefix, String delimiter, String continuationToken, int maxKeys)
      throws ObjectClientException {
    if (maxKeys < 1 || maxKeys > 1000) {
      throw new IllegalArgumentException("maxKeys must be in 1..1000, got " + maxKeys);
    }
    ListObjectsV2Request.Builder request =
        ListObjectsV2Request.builder().bucket(bucket).prefix(prefix == null ? "" : prefix).maxKeys(maxKeys);
    if (delimiter != null) {
      request.delimiter(delimiter);
    }
    if (continuationToken != null) {
      request.continuationToken(continuationToken);
    }
    try (Timer.Context ignored = listTimer.time()) {
      ListObjectsV2Response response = null;
      for (int attempt = 1; response == null; attempt++) {
        try {
          response = s3.listObjectsV2(request.build());
        } catch (UncheckedIOException e) {
          // The body broke off while the SDK parsed it (e.g. the socket closed when the attempt timed out).
          if (attempt >= listAttempts) {
            throw e;
          }
        }
      }
      List<ObjectMeta> objects =
          response.contents().stream()
              .map(o -> ObjectMeta.fromStore(o.key(), o.size(), o.lastModified(), o.eTag()))
              .toList();
      List<String> prefixes = response.commonPrefixes().stream().map(CommonPrefix::prefix).toList();
      String next = Boolean.TRUE.equals(response.isTruncated()) ? response.nextContinuationToken() : null;
      return new ListPage(objects, prefixes, next);
    } catch (SdkException | UncheckedIOException e) {
      throw fail(Operation.LIST, prefix, e);
    }
  }

  @Override
  public ObjectMeta head(String key) throws ObjectClientException {
    try (Timer.Context ignored = headTimer.time()) {
      HeadObjectResponse r = s3.headObject(HeadObjectRequest.builder().bucket(bucket).key(key).build());
      return ObjectMeta.fromStore(key, r.contentLength(), r.lastModified(), r.eTag());
    } catch (SdkException | UncheckedIOException e) {
      throw fail(Operation.HEAD, key, e);
    }
  }

  /** A zero-length {@code dst} returns at once without a request (and is not counted). */
  @Override
  public void getRange(String key, String etag, long offset, ByteBuffer dst) throws ObjectClientException {
    getRange(key, etag, offset, dst, NOT_WATCHED);
  }

  /**
   * Streams the body into {@code dst}, telling {@code arrived} after each read from the
   * connection. A retried attempt (the SDK asks the same range again, with the same {@code
   * If-Match}) skips the bytes already told and fills on from there, so they are never written
   * twice.
   */
  @Override
  public void getRange(String key, String etag, long offset, ByteBuffer dst, IntConsumer arrived)
      throws ObjectClientException {
    if (offset < 0) {
      throw new IllegalArgumentException("offset must not be negative, got " + offset);
    }
    int start = dst.position();
    int want = dst.remaining();
    if (want == 0) {
      return;
    }
    long last = offset + want - 1;
    GetObjectRequest.Builder request =
        GetObjectRequest.builder().bucket(bucket).key(key).range("bytes=" + offset + "-" + last);
    Instant unmodifiedSince = ObjectMeta.unmodifiedSinceBound(etag);
    if (unmodifiedSince != null) {
      request.ifUnmodifiedSince(unmodifiedSince); // the store gave no ETag: Last-Modified is the version
    } else if (etag != null) {
      request.ifMatch(etag);
    }
    BodyReader reader = new BodyReader(key, dst, start, want, arrived);
    try (Timer.Context ignored = getTimer.time()) {
      s3.getObject(
          request.build(),
          (GetObjectResponse response, AbortableInputStream body) -> {
            S3ErrorMapper.checkContentRange(response.contentRange(), response.contentLength(), key, offset, last);
            reader.read(body);
            return null;
          });
    } catch (SdkException | UncheckedIOException | RangeNotSatisfiedException e) {
      dst.position(start);
      throw fail(Operation.GET, key, e);
    }
  }

  /**
   * Fills one ranged GET's buffer across the SDK's attempts. {@code got} counts the bytes in
   * {@code dst} that are final; an attempt's body starts at the range's first byte again, so it
   * skips {@code got} bytes before it writes. Heap destinations are read into directly; direct
   * ones through one reused heap chunk (the SDK's Apache stream reads into arrays, so that copy is
   * the only way into a direct buffer).
   */
  private final class BodyReader {
    private final String key;
    private final ByteBuffer dst;
    private final int start;
    private final int want;
    private final IntConsumer arrived;
    private byte[] chunk;
    private int got;

    BodyReader(String key, ByteBuffer dst, int start, int want, IntConsumer arrived) {
      this.key = key;
      this.dst = dst;
      this.start = start;
      this.want = want;
      this.arrived = arrived;
    }

    void read(AbortableInputStream body) {
      try {
        skip(body, got);
      } catch (IOException e) {
        throw broken("broke off while skipping the " + got + " bytes a broken attempt already gave", e);
      }
      dst.position(start + got);
      while (got < want) {
        int n;
        try {
          if (dst.hasArray()) {
            n = body.read(dst.array(), dst.arrayOffset() + dst.position(), want - got);
            if (n > 0) {
              dst.position(dst.position() + n);
            }
          } else {
            if (chunk == null) {
              chunk = new byte[Math.min(CHUNK, want)];
            }
            n = body.read(chunk, 0, Math.min(chunk.length, want - got));
            if (n > 0) {
              dst.put(chunk, 0, n);
            }
          }
        } catch (IOException e) {
          throw broken("broke off after " + got + " of " + want + " bytes", e);
        }
        if (n < 0) {
          String message = "GET body of '" + key + "' ended after " + got + " of " + want + " bytes";
          throw RetryableException.create(message, new EOFException(message));
        }
        got += n;
        bytesReceived.inc(n);
        arrived.accept(got);
      }
    }

    private void skip(AbortableInputStream body, int n) throws IOException {
      byte[] scratch = n == 0 ? null : new byte[Math.min(CHUNK, n)];
      for (int left = n; left > 0; ) {
        int r = body.read(scratch, 0, Math.min(scratch.length, left));
        if (r < 0) {
          throw new EOFException("body ended " + left + " bytes before the resume point");
        }
        left -= r;
      }
    }

    private RetryableException broken(String what, IOException e) {
      return RetryableException.create("GET body of '" + key + "' " + what, e);
    }
  }

  @Override
  public ObjectMeta put(String key, Path file, long offset, long length) throws ObjectClientException {
    try (Timer.Context ignored = putTimer.time()) {
      PutObjectResponse r = s3.putObject(b -> b.bucket(bucket).key(key).contentLength(length), body(file, offset, length));
      bytesSent.inc(length);
      return new ObjectMeta(key, length, Instant.now(), r.eTag());
    } catch (SdkException | UncheckedIOException e) {
      throw fail(Operation.PUT, key, e);
    }
  }

  @Override
  public String createMultipart(String key) throws ObjectClientException {
    // A body cut short can parse as an answer without an upload id: ask again, like a broken LIST.
    for (int attempt = 1; ; attempt++) {
      String id;
      try {
        id = s3.createMultipartUpload(b -> b.bucket(bucket).key(key)).uploadId();
      } catch (SdkException | UncheckedIOException e) {
        throw fail(Operation.MULTIPART, key, e);
      }
      if (id != null && !id.isEmpty()) {
        return id;
      }
      if (attempt >= listAttempts) {
        failures.inc();
        throw new ObjectClientException(ObjectClientException.Kind.SERVER_ERROR, "create multipart upload of '"
            + key + "' in bucket '" + bucket + "': answered without an upload id " + attempt + " times");
      }
    }
  }

  @Override
  public String uploadPart(String key, String uploadId, int partNumber, Path file, long offset, long length)
      throws ObjectClientException {
    try (Timer.Context ignored = partTimer.time()) {
      String etag = s3.uploadPart(b -> b.bucket(bucket).key(key).uploadId(uploadId).partNumber(partNumber)
          .contentLength(length), body(file, offset, length)).eTag();
      bytesSent.inc(length);
      return etag;
    } catch (SdkException | UncheckedIOException e) {
      throw fail(Operation.MULTIPART, key, e);
    }
  }

  @Override
  public ObjectMeta completeMultipart(String key, String uploadId, List<String> partEtags, long size)
      throws ObjectClientException {
    List<CompletedPart> parts = new ArrayList<>(partEtags.size());
    for (int i = 0; i < partEtags.size(); i++) {
      parts.add(CompletedPart.builder().partNumber(i + 1).eTag(partEtags.get(i)).build());
    }
    try {
      String etag = s3.completeMultipartUpload(b -> b.bucket(bucket).key(key).uploadId(uploadId)
          .multipartUpload(m -> m.parts(parts))).eTag();
      if (etag == null || etag.isEmpty()) {
        // A body cut short: whether it completed is for the caller to find out (ObjectUploader checks the ETag).
        failures.inc();
        throw new ObjectClientException(ObjectClientException.Kind.SERVER_ERROR, "complete multipart upload of '"
            + key + "' in bucket '" + bucket + "': answered without an ETag");
      }
      return new ObjectMeta(key, size, Instant.now(), etag);
    } catch (SdkException | UncheckedIOException e) {
      throw fail(Operation.MULTIPART, key, e);
    }
  }

  @Override
  public void abortMultipart(String key, String uploadId) throws ObjectClientException {
    try {
      s3.abortMultipartUpload(b -> b.bucket(bucket).key(key).uploadId(uploadId));
    } catch (SdkException | UncheckedIOException e) {
      throw fail(Operation.MULTIPART, key, e);
    }
  }

  @Override
  public ObjectMeta copy(String from, String to) throws ObjectClientException {
    try (Timer.Context ignored = copyTimer.time()) {
      CopyObjectResponse r = s3.copyObject(b -> b.sourceBucket(bucket).sourceKey(from)
          .destinationBucket(bucket).destinationKey(to));
      String etag = r.copyObjectResult() == null ? null : r.copyObjectResult().eTag();
      ObjectMeta copied = head(to);
      return new ObjectMeta(to, copied.size(), Instant.now(), etag != null ? etag : copied.etag());
    } catch (SdkException | UncheckedIOException e) {
      throw fail(Operation.COPY, from, e);
    }
  }

  @Override
  public void delete(String key) throws ObjectClientException {
    try (Timer.Context ignored = deleteTimer.time()) {
      s3.deleteObject(b -> b.bucket(bucket).key(key));
    } catch (SdkException | UncheckedIOException e) {
      throw fail(Operation.DELETE, key, e);
    }
  }

  /** A body read from the file on each attempt (a retry rereads it from its start). */
  private static RequestBody body(Path file, long offset, long length) {
    return RequestBody.fromContentProvider(() -> {
      try {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        ch.position(offset);
        InputStream in = Channels.newInputStream(ch);
        return new java.io.FilterInputStream(in) {
          private long left = length;

          @Override
          public int read() throws IOException {
            if (left <= 0) {
              return -1;
            }
            int b = super.read();
            if (b >= 0) {
              left--;
            }
            return b;
          }

          @Override
          public int read(byte[] buf, int off, int len) throws IOException {
            if (left <= 0) {
              return -1;
            }
            int n = super.read(buf, off, (int) Math.min(len, left));
            if (n > 0) {
              left -= n;
            }
            return n;
          }
        };
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read staged file " + file, e);
      }
    }, length, "application/octet-stream");
  }

  private ObjectClientException fail(Operation op, String key, RuntimeException e) {
    return errors.failed(op, key, e, failures, credentialsRefused);
  }

  @Override
  public void close() {
    s3.close();
    if (ownedResource != null) {
      try {
        ownedResource.close();
      } catch (Exception e) {
        // Closing credentials caches only stops their refresh threads; nothing to report.
      }
    }
  }

  @Override
  public String toString() {
    return "SdkObjectClient[" + bucket + "]";
  }
}
