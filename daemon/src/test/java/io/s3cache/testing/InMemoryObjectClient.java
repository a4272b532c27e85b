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
 * A bucket in memory with S3's LIST/HEAD/GET semantics (delimiter, pagination, If-Match), counting
 * every request. For unit tests of the layers above the object client; the client itself is tested
 * against a real S3 server.
 */
public final class InMemoryObjectClient implements ObjectClient {

  private record StoredObject(byte[] bytes, String etag, Instant mtime) {}

  private final String bucket;
  private final NavigableMap<String, StoredObject> objects = new ConcurrentSkipListMap<>();
  private final AtomicLong versions = new AtomicLong();
  public final AtomicInteger lists = new AtomicInteger();
  public final AtomicInteger heads = new AtomicInteger();
  public final AtomicInteger gets = new AtomicInteger();

  public InMemoryObjectClient(String bucket) {
    this.bucket = bucket;
  }

  public String put(String key, byte[] bytes) {
    String etag = "\"v" + versions.incrementAndGet() + "\"";
    objects.put(key, new StoredObject(bytes.clone(), etag, Instant.ofEpochSecond(1_700_000_000L + versions.get())));
    return etag;
  }

  public void delete(String key) {
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
  public void checkBucket() {}

  @Override
  public ListPage list(String prefix, String delimiter, String token, int maxKeys) {
    lists.incrementAndGet();
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
    StoredObject o = objects.get(key);
    if (o == null) {
      throw new ObjectClientException(Kind.NOT_FOUND, "no such key " + key);
    }
    return meta(key, o);
  }

  @Override
  public void getRange(String key, String etag, long offset, ByteBuffer dst) throws ObjectClientException {
    gets.incrementAndGet();
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
  public void close() {}

  private static ObjectMeta meta(String key, StoredObject o) {
    return new ObjectMeta(key, o.bytes().length, o.mtime(), o.etag());
  }
}
