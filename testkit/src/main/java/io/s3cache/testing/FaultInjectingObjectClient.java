package io.s3cache.testing;

import io.s3cache.s3.ListPage;
import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectClientException;
import io.s3cache.s3.ObjectClientException.Kind;
import io.s3cache.s3.ObjectMeta;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;

/**
 * An object client that fails the requests a test plans, per operation, and passes every other
 * request to the client it wraps (usually an {@link InMemoryObjectClient}): for unit tests of how the
 * layers above react to S3 errors without a server. A failed request never reaches the wrapped
 * client. With nothing planned it is a pass-through, and is held to {@link ObjectClientContract} so.
 * (For faults on the wire, such as resets and truncated bodies, see
 * {@link io.s3cache.embedded.FaultInjectingProxy}.)
 */
public final class FaultInjectingObjectClient implements ObjectClient {

  /** The requests of {@link ObjectClient}, one per method. */
  public enum Op { CHECK_BUCKET, LIST, HEAD, GET, PUT, CREATE_MULTIPART, UPLOAD_PART, COMPLETE_MULTIPART, ABORT_MULTIPART,
    COPY, DELETE }

  private final ObjectClient delegate;
  private final Map<Op, Queue<Kind>> planned = new EnumMap<>(Op.class); // guarded by this
  private final Map<Op, Integer> injected = new EnumMap<>(Op.class); // guarded by this

  public FaultInjectingObjectClient(ObjectClient delegate) {
    this.delegate = delegate;
  }

  /** Fails the next {@code times} requests of {@code op} (after those already planned) with {@code kind}. */
  public synchronized FaultInjectingObjectClient failNext(Op op, int times, Kind kind) {
    Queue<Kind> queue = planned.computeIfAbsent(op, o -> new ArrayDeque<>());
    for (int i = 0; i < times; i++) {
      queue.add(kind);
    }
    return this;
  }

  /** How many requests of {@code op} were failed so far. */
  public synchronized int injected(Op op) {
    return injected.getOrDefault(op, 0);
  }

  private void fault(Op op, String what) throws ObjectClientException {
    Kind kind;
    synchronized (this) {
      Queue<Kind> queue = planned.get(op);
      kind = queue == null ? null : queue.poll();
      if (kind != null) {
        injected.merge(op, 1, Integer::sum);
      }
    }
    if (kind != null) {
      throw new ObjectClientException(kind, op + " " + what + ": injected " + kind);
    }
  }

  @Override
  public String bucket() {
    return delegate.bucket();
  }

  @Override
  public void checkBucket() throws ObjectClientException {
    fault(Op.CHECK_BUCKET, delegate.bucket());
    delegate.checkBucket();
  }

  @Override
  public ListPage list(String prefix, String delimiter, String continuationToken, int maxKeys)
      throws ObjectClientException {
    fault(Op.LIST, prefix);
    return delegate.list(prefix, delimiter, continuationToken, maxKeys);
  }

  @Override
  public ObjectMeta head(String key) throws ObjectClientException {
    fault(Op.HEAD, key);
    return delegate.head(key);
  }

  @Override
  public void getRange(String key, String etag, long offset, ByteBuffer dst) throws ObjectClientException {
    fault(Op.GET, key);
    delegate.getRange(key, etag, offset, dst);
  }

  @Override
  public ObjectMeta put(String key, Path file, long offset, long length) throws ObjectClientException {
    fault(Op.PUT, key);
    return delegate.put(key, file, offset, length);
  }

  @Override
  public String createMultipart(String key) throws ObjectClientException {
    fault(Op.CREATE_MULTIPART, key);
    return delegate.createMultipart(key);
  }

  @Override
  public String uploadPart(String key, String uploadId, int partNumber, Path file, long offset, long length)
      throws ObjectClientException {
    fault(Op.UPLOAD_PART, key);
    return delegate.uploadPart(key, uploadId, partNumber, file, offset, length);
  }

  @Override
  public ObjectMeta completeMultipart(String key, String uploadId, List<String> partEtags, long size)
      throws ObjectClientException {
    fault(Op.COMPLETE_MULTIPART, key);
    return delegate.completeMultipart(key, uploadId, partEtags, size);
  }

  @Override
  public void abortMultipart(String key, String uploadId) throws ObjectClientException {
    fault(Op.ABORT_MULTIPART, key);
    delegate.abortMultipart(key, uploadId);
  }

  @Override
  public ObjectMeta copy(String from, String to) throws ObjectClientException {
    fault(Op.COPY, from);
    return delegate.copy(from, to);
  }

  @Override
  public void delete(String key) throws ObjectClientException {
    fault(Op.DELETE, key);
    delegate.delete(key);
  }

  @Override
  public void close() {
    delegate.close();
  }
}
