package io.s3cache.s3;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * An object client that counts the requests of one mount by kind (the daemon-wide totals are the
 * {@code s3.requests.*} metrics). Every call is counted once, also when it fails.
 */
public final class CountingObjectClient extends ForwardingObjectClient {

  private final LongAdder gets = new LongAdder();
  private final LongAdder heads = new LongAdder();
  private final LongAdder lists = new LongAdder();
  private final LongAdder puts = new LongAdder();
  private final LongAdder copies = new LongAdder();
  private final LongAdder deletes = new LongAdder();
  private final LongAdder others = new LongAdder();

  public CountingObjectClient(ObjectClient delegate) {
    super(delegate);
  }

  /** The requests sent through this client so far. */
  public RequestCounts counts() {
    return new RequestCounts(gets.sum(), heads.sum(), lists.sum(), puts.sum(), copies.sum(),
        deletes.sum(), others.sum());
  }

  @Override
  public void checkBucket() throws ObjectClientException {
    others.increment();
    delegate.checkBucket();
  }

  @Override
  public ListPage list(String prefix, String delimiter, String continuationToken, int maxKeys)
      throws ObjectClientException {
    lists.increment();
    return delegate.list(prefix, delimiter, continuationToken, maxKeys);
  }

  @Override
  public ObjectMeta head(String key) throws ObjectClientException {
    heads.increment();
    return delegate.head(key);
  }

  @Override
  public void getRange(String key, String etag, long offset, ByteBuffer dst)
      throws ObjectClientException {
    if (dst.hasRemaining()) { // a zero-length read sends nothing (as the s3.requests.get timer)
      gets.increment();
    }
    delegate.getRange(key, etag, offset, dst);
  }

  @Override
  public void getRange(String key, String etag, long offset, ByteBuffer dst,
      java.util.function.IntConsumer arrived) throws ObjectClientException {
    if (dst.hasRemaining()) {
      gets.increment();
    }
    delegate.getRange(key, etag, offset, dst, arrived);
  }

  @Override
  public ObjectMeta put(String key, Path file, long offset, long length)
      throws ObjectClientException {
    puts.increment();
    return delegate.put(key, file, offset, length);
  }

  @Override
  public String createMultipart(String key) throws ObjectClientException {
    others.increment();
    return delegate.createMultipart(key);
  }

  @Override
  public String uploadPart(String key, String uploadId, int partNumber, Path file, long offset,
      long length) throws ObjectClientException {
    puts.increment();
    return delegate.uploadPart(key, uploadId, partNumber, file, offset, length);
  }

  @Override
  public ObjectMeta completeMultipart(String key, String uploadId, List<String> partEtags,
      long size) throws ObjectClientException {
    others.increment();
    return delegate.completeMultipart(key, uploadId, partEtags, size);
  }

  @Override
  public void abortMultipart(String key, String uploadId) throws ObjectClientException {
    others.increment();
    delegate.abortMultipart(key, uploadId);
  }

  @Override
  public ObjectMeta copy(String from, String to) throws ObjectClientException {
    copies.increment();
    return delegate.copy(from, to);
  }

  @Override
  public void delete(String key) throws ObjectClientException {
    deletes.increment();
    delegate.delete(key);
  }
}
