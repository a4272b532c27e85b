package io.s3cache.s3;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * An {@link ObjectClient} that passes every call to another one; a wrapper overrides just the
 * calls it watches. Thread-safe as the delegate is.
 */
public abstract class ForwardingObjectClient implements ObjectClient {

  protected final ObjectClient delegate;

  protected ForwardingObjectClient(ObjectClient delegate) {
    this.delegate = java.util.Objects.requireNonNull(delegate, "delegate");
  }

  @Override
  public String bucket() {
    return delegate.bucket();
  }

  @Override
  public void checkBucket() throws ObjectClientException {
    delegate.checkBucket();
  }

  @Override
  public ListPage list(String prefix, String delimiter, String continuationToken, int maxKeys)
      throws ObjectClientException {
    return delegate.list(prefix, delimiter, continuationToken, maxKeys);
  }

  @Override
  public ObjectMeta head(String key) throws ObjectClientException {
    return delegate.head(key);
  }

  @Override
  public void getRange(String key, String etag, long offset, ByteBuffer dst) throws ObjectClientException {
    delegate.getRange(key, etag, offset, dst);
  }

  @Override
  public void getRange(String key, String etag, long offset, ByteBuffer dst, IntConsumer arrived)
      throws ObjectClientException {
    delegate.getRange(key, etag, offset, dst, arrived);
  }

  @Override
  public ObjectMeta put(String key, Path file, long offset, long length) throws ObjectClientException {
    return delegate.put(key, file, offset, length);
  }

  @Override
  public String createMultipart(String key) throws ObjectClientException {
    return delegate.createMultipart(key);
  }

  @Override
  public String uploadPart(String key, String uploadId, int partNumber, Path file, long offset, long length)
      throws ObjectClientException {
    return delegate.uploadPart(key, uploadId, partNumber, file, offset, length);
  }

  @Override
  public ObjectMeta completeMultipart(String key, String uploadId, List<String> partEtags, long size)
      throws ObjectClientException {
    return delegate.completeMultipart(key, uploadId, partEtags, size);
  }

  @Override
  public void abortMultipart(String key, String uploadId) throws ObjectClientException {
    delegate.abortMultipart(key, uploadId);
  }

  @Override
  public ObjectMeta copy(String from, String to) throws ObjectClientException {
    return delegate.copy(from, to);
  }

  @Override
  public void delete(String key) throws ObjectClientException {
    delegate.delete(key);
  }

  @Override
  public void close() {
    delegate.close();
  }

  @Override
  public String toString() {
    return delegate.toString();
  }
}
