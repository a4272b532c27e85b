package io.s3cache.s3;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * The object versions one mount's credentials have been allowed to read. Blocks are shared by
 * every mount of a bucket, but S3 decides per request who may read what: a block another mount
 * (or an earlier run of the daemon) fetched must not reach a mount whose own credentials S3 would
 * refuse. So a mount serves cached bytes of a version only once its own credentials read it: a GET
 * or HEAD of it through {@link #client()} succeeded (or the mount wrote it); else {@link #confirm}
 * asks S3 with a HEAD, which needs the same permission as a GET (s3:GetObject).
 *
 * <p>Held in memory, bounded (a version forgotten is confirmed again); thread-safe.
 */
public final class ReadGrants {

  /** An object version; etag as the store or {@link ObjectMeta} spells it. */
  private record Version(String key, String etag) {}

  private static final Object GRANTED = Boolean.TRUE;

  private final ObjectClient client;
  private final Cache<Version, Object> granted;

  /**
   * @param delegate the mount's client; every successful read or write through {@link #client()}
   *     grants its version
   * @param capacity versions remembered (the oldest are confirmed again once forgotten)
   */
  public ReadGrants(ObjectClient delegate, long capacity) {
    this.client = new Recording(delegate);
    this.granted = Caffeine.newBuilder().maximumSize(capacity).executor(Runnable::run).build();
  }

  /** The mount's client, recording what it read or wrote successfully. */
  public ObjectClient client() {
    return client;
  }

  /** Whether this mount's credentials have read (or written) this version. */
  public boolean granted(String key, String etag) {
    return granted.getIfPresent(new Version(key, etag)) != null;
  }

  /**
   * Returns once this mount's credentials may read the version, asking S3 (one HEAD) if they have
   * not read it yet.
   *
   * @throws ObjectClientException ACCESS_DENIED or CREDENTIALS when S3 refuses this mount,
   *     NOT_FOUND when the object is gone, PRECONDITION_FAILED when it has another version now
   */
  public void confirm(String key, String etag) throws ObjectClientException {
    if (granted(key, etag)) {
      return;
    }
    ObjectMeta now = client.head(key); // grants the version it finds
    if (!now.etag().equals(etag)) {
      throw new ObjectClientException(ObjectClientException.Kind.PRECONDITION_FAILED, "object '" + key
          + "' in bucket '" + client.bucket() + "' changed since it was listed (ETag no longer matches)");
    }
  }

  private void grant(String key, String etag) {
    if (key != null && etag != null) {
      granted.put(new Version(key, etag), GRANTED);
    }
  }

  /** Forwards every call; grants what succeeded (LIST needs s3:ListBucket only: no grant). */
  private final class Recording extends ForwardingObjectClient {

    Recording(ObjectClient delegate) {
      super(delegate);
    }

    @Override
    public ObjectMeta head(String key) throws ObjectClientException {
      ObjectMeta meta = delegate.head(key);
      grant(key, meta.etag());
      return meta;
    }

    @Override
    public void getRange(String key, String etag, long offset, ByteBuffer dst) throws ObjectClientException {
      delegate.getRange(key, etag, offset, dst);
      grant(key, etag);
    }

    @Override
    public void getRange(String key, String etag, long offset, ByteBuffer dst, IntConsumer arrived)
        throws ObjectClientException {
      // Granted with the first bytes (S3 said yes), before a reader waiting on them can return.
      boolean[] told = {false};
      delegate.getRange(key, etag, offset, dst, n -> {
        if (!told[0]) {
          told[0] = true;
          grant(key, etag);
        }
        arrived.accept(n);
      });
      grant(key, etag);
    }

    @Override
    public ObjectMeta put(String key, Path file, long offset, long length) throws ObjectClientException {
      ObjectMeta meta = delegate.put(key, file, offset, length);
      grant(key, meta.etag()); // its bytes came from this mount's writer: nothing to hide from it
      return meta;
    }

    @Override
    public ObjectMeta completeMultipart(String key, String uploadId, List<String> partEtags, long size)
        throws ObjectClientException {
      ObjectMeta meta = delegate.completeMultipart(key, uploadId, partEtags, size);
      grant(key, meta.etag());
      return meta;
    }
    // copy: a copy needs read access to its source, but grants by a read only
  }
}
