package io.s3cache.testing;

import io.s3cache.s3.ListPage;
import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectClientException;
import io.s3cache.s3.ObjectClientException.Kind;
import io.s3cache.s3.ObjectMeta;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A bucket in memory with S3's LIST/HEAD/GET semantics (delimiter, pagination, If-Match) and its
 * writes (PUT, multipart upload, copy, delete, with S3's ETags: see {@link S3Etags}), counting
 * every request. For unit tests of the layers above the object client; the client itself is tested
 * against a real S3 server, and this fake is held to the same {@link ObjectClientContract}.
 */
public final class InMemoryObjectClient implements ObjectClient {

  private record StoredObject(byte[] bytes, String etag, Instant mtime) {}

  private final String bucket;
  private final NavigableMap<String, StoredObject> objects = new ConcurrentSkipListMap<>();
  private final AtomicLong versions = new AtomicLong();
  public final AtomicInteger lists = new AtomicInteger();
  public final AtomicInteger heads = new AtomicInteger();
  public final AtomicInteger gets = new AtomicInteger();
  /** Completed single PUTs and completed multipart uploads, by key, in order. */
  public final List<String> uploads = java.util.Collections.synchronizedList(new ArrayList<>());
  public final AtomicInteger parts = new AtomicInteger();
  public final AtomicInteger copies = new AtomicInteger();
  public final AtomicInteger deletes = new AtomicInteger();
  /** Write requests (put, part, complete, copy, delete) still to fail with SERVER_ERROR. */
  public final AtomicInteger failWrites = new AtomicInteger();
  private final Map<String, Map<Integer, byte[]>> multiparts = new java.util.concurrent.ConcurrentHashMap<>();
  private final boolean bucketExists;

  /** A client of {@code bucket}, which exists and starts empty. */
  public InMemoryObjectClient(String bucket) {
    this(bucket, true);
  }

  private InMemoryObjectClient(String bucket, boolean bucketExists) {
    this.bucket = bucket;
    this.bucketExists = bucketExists;
  }

  /** A client of a bucket that does not exist: its requests fail with NO_SUCH_BUCKET, as S3's do. */
  public static InMemoryObjectClient ofMissingBucket(String bucket) {
    return new InMemoryObjectClient(bucket, false);
  }

  /**
   * Stores an object as another writer would, not through this client: its ETag names the version
   * ({@code "vN"}), so a test that writes the same bytes again still makes a new version.
   */
  public String put(String key, byte[] bytes) {
    return store(key, bytes, null);
  }

  /** @param s3Etag the ETag S3 gives these bytes, or null for a version ETag */
  private String store(String key, byte[] bytes, String s3Etag) {
    long version = versions.incrementAndGet();
    String etag = s3Etag != null ? s3Etag : "\"v" + version + "\"";
    objects.put(key, new StoredObject(bytes.clone(), etag, Instant.ofEpochSecond(1_700_000_000L + version)));
    return etag;
  }

  @Override
  public void delete(String key) {
    deletes.incrementAndGet();
    objects.remove(key);
  }

  public int requests() {
    return lists.get() + heads.get() + gets.get();
  }

  @Override
  public String bucket() {
    return bucket;
  }

  @Override
  public void checkBucket() throws ObjectClientException {
    requireBucket();
  }

  @Override
  public ListPage list(String prefix, String delimiter, String token, int maxKeys) throws ObjectClientException {
    lists.incrementAndGet();
    requireBucket();
    List<ObjectMeta> found = new ArrayList<>();
    TreeSet<String> prefixes = new TreeSet<>();
    int count = 0;
    String last = null;
    for (Map.Entry<String, StoredObject> e : objects.tailMap(prefix, true).entrySet()) {
      String key = e.getKey();
      if (!key.startsWith(prefix)) {
        break;
      }
      String rest = key.substring(prefix.length());
      int cut = delimiter == null ? -1 : rest.indexOf(delimiter);
      String name = cut < 0 ? key : prefix + rest.substring(0, cut + delimiter.length());
      if (token != null && name.compareTo(token) <= 0) {
        continue;
      }
      if (cut >= 0) {
        if (prefixes.contains(name)) {
          continue;
        }
        if (count == maxKeys) {
          return new ListPage(found, List.copyOf(prefixes), last);
        }
        prefixes.add(name);
      } else {
        if (count == maxKeys) {
          return new ListPage(found, List.copyOf(prefixes), last);
        }
        found.add(meta(key, e.getValue()));
      }
      count++;
      last = name;
    }
    return new ListPage(found, List.copyOf(prefixes), null);
  }

  @Override
  public ObjectMeta head(String key) throws ObjectClientException {
    heads.incrementAndGet();
    requireBucket();
    StoredObject o = objects.get(key);
    if (o == null) {
      throw new ObjectClientException(Kind.NOT_FOUND, "no such key " + key);
    }
    return meta(key, o);
  }

  @Override
  public void getRange(String key, String etag, long offset, ByteBuffer dst) throws ObjectClientException {
    gets.incrementAndGet();
    requireBucket();
    StoredObject o = objects.get(key);
    if (o == null) {
      throw new ObjectClientException(Kind.NOT_FOUND, "no such key " + key);
    }
    if (!o.etag().equals(etag)) {
      throw new ObjectClientException(Kind.PRECONDITION_FAILED, key + " changed: " + etag + " is now " + o.etag());
    }
    if (offset + dst.remaining() > o.bytes().length) {
      throw new ObjectClientException(Kind.OTHER, "range past the end of " + key);
    }
    dst.put(o.bytes(), (int) offset, dst.remaining());
  }

  @Override
  public ObjectMeta put(String key, java.nio.file.Path file, long offset, long length) throws ObjectClientException {
    maybeFail("PUT " + key);
    byte[] bytes = read(file, offset, length);
    store(key, bytes, S3Etags.ofBytes(bytes));
    uploads.add(key);
    return meta(key, objects.get(key));
  }

  @Override
  public String createMultipart(String key) throws ObjectClientException {
    maybeFail("create multipart " + key);
    String id = "upload-" + versions.incrementAndGet();
    multiparts.put(id, new java.util.concurrent.ConcurrentHashMap<>());
    return id;
  }

  @Override
  public String uploadPart(String key, String uploadId, int partNumber, java.nio.file.Path file, long offset,
      long length) throws ObjectClientException {
    maybeFail("part " + partNumber + " of " + key);
    Map<Integer, byte[]> upload = multiparts.get(uploadId);
    if (upload == null) {
      throw new ObjectClientException(Kind.NOT_FOUND, "no upload " + uploadId);
    }
    byte[] part = read(file, offset, length);
    upload.put(partNumber, part);
    parts.incrementAndGet();
    return S3Etags.ofBytes(part);
  }

  @Override
  public ObjectMeta completeMultipart(String key, String uploadId, List<String> partEtags, long size)
      throws ObjectClientException {
    maybeFail("complete " + key);
    Map<Integer, byte[]> upload = multiparts.remove(uploadId);
    if (upload == null) { // S3's NoSuchUpload, a 404: completed or aborted already
      throw new ObjectClientException(Kind.NOT_FOUND, "no upload " + uploadId);
    }
    if (upload.size() != partEtags.size()) {
      throw new ObjectClientException(Kind.OTHER, "parts missing in " + uploadId);
    }
    java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
    for (int i = 1; i <= partEtags.size(); i++) {
      all.writeBytes(upload.get(i));
    }
    store(key, all.toByteArray(), S3Etags.ofMultipart(partEtags));
    uploads.add(key);
    return meta(key, objects.get(key));
  }

  @Override
  public void abortMultipart(String key, String uploadId) {
    multiparts.remove(uploadId);
  }

  /** Multipart uploads started and neither completed nor aborted. */
  public int openMultiparts() {
    return multiparts.size();
  }

  @Override
  public ObjectMeta copy(String from, String to) throws ObjectClientException {
    maybeFail("copy " + from);
    StoredObject o = objects.get(from);
    if (o == null) {
      throw new ObjectClientException(Kind.NOT_FOUND, "no such key " + from);
    }
    copies.incrementAndGet();
    put(to, o.bytes());
    return meta(to, objects.get(to));
  }

  /** The stored bytes of a key, or null. */
  public byte[] bytes(String key) {
    StoredObject o = objects.get(key);
    return o == null ? null : o.bytes().clone();
  }

  public java.util.Set<String> keys() {
    return java.util.Set.copyOf(objects.keySet());
  }

  private void requireBucket() throws ObjectClientException {
    if (!bucketExists) {
      throw new ObjectClientException(Kind.NO_SUCH_BUCKET, "no such bucket " + bucket);
    }
  }

  /** Before every write: a missing bucket, then a failure the test asked for with {@link #failWrites}. */
  private void maybeFail(String what) throws ObjectClientException {
    requireBucket();
    if (failWrites.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      throw new ObjectClientException(Kind.SERVER_ERROR, what + ": injected failure (503)");
    }
  }

  private static byte[] read(java.nio.file.Path file, long offset, long length) throws ObjectClientException {
    try (var ch = java.nio.channels.FileChannel.open(file)) {
      ByteBuffer b = ByteBuffer.allocate((int) length);
      while (b.hasRemaining()) {
        if (ch.read(b, offset + b.position()) < 0) {
          throw new java.io.EOFException("staged file " + file + " ends early");
        }
      }
      return b.array();
    } catch (java.io.IOException e) {
      throw new ObjectClientException(Kind.OTHER, e.toString());
    }
  }

  @Override
  public void close() {}

  private static ObjectMeta meta(String key, StoredObject o) {
    return new ObjectMeta(key, o.bytes().length, o.mtime(), o.etag());
  }
}
