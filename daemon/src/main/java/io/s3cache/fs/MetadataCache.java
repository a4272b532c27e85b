package io.s3cache.fs;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import io.s3cache.cache.CacheDatabase;
import io.s3cache.s3.ObjectMeta;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stat results and directory listings, each trusted for {@code metadata_ttl} after it was fetched.
 * Keys are mount paths ("/a/b"). A zero TTL caches nothing.
 *
 * <p>In memory (Caffeine) and, given a {@link CacheDatabase}, also in its {@code metadata} column
 * family with the time each answer was fetched from S3, so a restarted daemon (also after {@code
 * kill -9}) trusts what it fetched before for the rest of its TTL (with {@code
 * metadata_ttl=indefinite}: until {@code s3cache refresh}) and lists nothing again. A record of
 * another layout, or one that fails to decode, is a miss. Stored records are keyed by bucket,
 * mount prefix and path, so mounts of one bucket under different prefixes never mix answers.
 * A failure of the database is logged (once a minute) and treated as a miss: metadata is then
 * fetched from S3 as if never cached.
 */
final class MetadataCache {

  /** A directory's children by name, in listing order. */
  record Listing(Map<String, Node> children) {}

  /** A cached value with the time left for it when it was put. */
  private record Timed<T>(T value, long ttlNanos) {}

  private static final Logger LOG = LoggerFactory.getLogger(MetadataCache.class);
  private static final byte RECORD_VERSION = 1;
  private static final byte NODE = 'N';
  private static final byte LISTING = 'L';

  private final Duration ttl;
  private final long ttlNanos;
  private final Clock wallClock;
  private final Cache<String, Timed<Node>> nodes;
  private final Cache<String, Timed<Listing>> listings;
  private final CacheDatabase db; // null: memory only
  private final byte[] storePrefix; // bucket \0 mount prefix \0
  private final AtomicLong lastStoreWarning = new AtomicLong(Long.MIN_VALUE);

  MetadataCache(Duration ttl, long maxNodes, Ticker ticker) {
    this(ttl, maxNodes, ticker, null, "", "", Clock.systemUTC());
  }

  /**
   * @param db where answers persist across restarts, or null for memory only
   * @param bucket the mount's bucket and {@code prefix} its key prefix, naming stored records
   * @param wallClock the clock of the fetch times stored with each record
   */
  MetadataCache(Duration ttl, long maxNodes, Ticker ticker, CacheDatabase db, String bucket,
      String prefix, Clock wallClock) {
    this.ttl = ttl;
    this.ttlNanos = saturatedNanos(ttl);
    this.wallClock = wallClock;
    this.db = ttl.isZero() ? null : db;
    this.storePrefix = (bucket + "\0" + prefix + "\0").getBytes(StandardCharsets.UTF_8);
    this.nodes = Caffeine.newBuilder().expireAfter(new TimedExpiry<Node>()).maximumSize(maxNodes)
        .ticker(ticker).executor(Runnable::run).build();
    this.listings = Caffeine.newBuilder().expireAfter(new TimedExpiry<Listing>())
        .maximumSize(Math.max(1, maxNodes / 64)).ticker(ticker).executor(Runnable::run).build();
  }

  Node node(String path) {
    Timed<Node> t = nodes.getIfPresent(path);
    if (t != null) {
      return t.value();
    }
    byte[] stored = load(NODE, path);
    if (stored == null) {
      return null;
    }
    Timed<Node> loaded = decode(stored, in -> readNode(in));
    if (loaded == null) {
      return null;
    }
    nodes.put(path, loaded);
    return loaded.value();
  }

  void putNode(String path, Node node) {
    nodes.put(path, new Timed<>(node, ttlNanos));
    store(NODE, path, out -> writeNode(out, node));
  }

  Listing listing(String dir) {
    Timed<Listing> t = listings.getIfPresent(dir);
    if (t != null) {
      return t.value();
    }
    byte[] stored = load(LISTING, dir);
    if (stored == null) {
      return null;
    }
    Timed<Listing> loaded = decode(stored, MetadataCache::readListing);
    if (loaded == null) {
      return null;
    }
    listings.put(dir, loaded);
    putChildren(dir, loaded.value(), loaded.ttlNanos());
    return loaded.value();
  }

  /** Caches a listing and, for each child, its node (so a stat after readdir asks S3 nothing). */
  void putListing(String dir, Listing listing) {
    listings.put(dir, new Timed<>(listing, ttlNanos));
    putChildren(dir, listing, ttlNanos);
    store(LISTING, dir, out -> writeListing(out, listing));
  }

  private void putChildren(String dir, Listing listing, long nanos) {
    String base = dir.equals("/") ? "/" : dir + "/";
    listing.children().forEach((name, node) -> nodes.put(base + name, new Timed<>(node, nanos)));
  }

  /**
   * A change made through this mount: caches {@code node} for {@code path} (ABSENT for a removal)
   * and, if its parent's listing is cached, puts the child into it (or takes it out), so a stat or
   * readdir after a write asks S3 nothing.
   */
  void putChild(String path, Node node) {
    var parentAndName = parentAndName(path);
    Listing parent = listing(parentAndName.get(0));
    if (parent != null) {
      Map<String, Node> children = new LinkedHashMap<>(parent.children());
      if (node instanceof Node.Absent) {
        children.remove(parentAndName.get(1));
      } else {
        children.put(parentAndName.get(1), node);
      }
      putListing(parentAndName.get(0), new Listing(children));
    }
    putNode(path, node);
  }

  /** Forgets a path and, if a directory, its listing (in memory and stored). */
  void invalidate(String path) {
    nodes.invalidate(path);
    listings.invalidate(path);
    delete(NODE, path);
    delete(LISTING, path);
  }

  /**
   * Forgets {@code path} and everything cached under it (for {@code s3cache refresh}): every node
   * and listing at or below it, in memory and stored.
   *
   * @return how many entries were forgotten
   */
  int invalidateTree(String path) {
    String under = path.equals("/") ? "/" : path + "/";
    List<String> gone = new ArrayList<>();
    for (String p : nodes.asMap().keySet()) {
      if (p.equals(path) || p.startsWith(under)) {
        gone.add(p);
      }
    }
    for (String p : listings.asMap().keySet()) {
      if (p.equals(path) || p.startsWith(under)) {
        gone.add(p);
      }
    }
    gone.forEach(p -> {
      nodes.invalidate(p);
      listings.invalidate(p);
    });
    int count = gone.size();
    if (db != null) {
      for (byte kind : new byte[] {NODE, LISTING}) {
        List<byte[]> keys = new ArrayList<>();
        try {
          db.forEachMetadata(storeKey(kind, path), (k, v) -> keys.add(k));
          if (!path.equals("/")) {
            // forEachMetadata matched "/a" and also "/ab": keep exactly "/a" and "/a/...".
            byte[] exact = storeKey(kind, path);
            byte[] sub = storeKey(kind, under);
            keys.removeIf(k -> !java.util.Arrays.equals(k, exact) && !startsWith(k, sub));
          }
          for (byte[] k : keys) {
            db.deleteMetadata(k);
          }
          count += keys.size();
        } catch (IOException e) {
          warnStore("cannot drop stored metadata under " + path, e);
        }
      }
    }
    return count;
  }

  static List<String> parentAndName(String path) {
    int slash = path.lastIndexOf('/');
    String parent = slash == 0 ? "/" : path.substring(0, slash);
    return List.of(parent, path.substring(slash + 1));
  }

  // ---- persistence ----

  private interface Writer {
    void write(DataOutputStream out) throws IOException;
  }

  private interface Reader<T> {
    T read(DataInputStream in) throws IOException;
  }

  private byte[] storeKey(byte kind, String path) {
    byte[] p = path.getBytes(StandardCharsets.UTF_8);
    byte[] key = new byte[1 + storePrefix.length + p.length];
    key[0] = kind;
    System.arraycopy(storePrefix, 0, key, 1, storePrefix.length);
    System.arraycopy(p, 0, key, 1 + storePrefix.length, p.length);
    return key;
  }

  private byte[] load(byte kind, String path) {
    if (db == null) {
      return null;
    }
    try {
      return db.getMetadata(storeKey(kind, path));
    } catch (IOException e) {
      warnStore("cannot read stored metadata of " + path, e);
      return null;
    }
  }

  private void store(byte kind, String path, Writer writer) {
    if (db == null) {
      return;
    }
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(bytes);
      out.writeByte(RECORD_VERSION);
      out.writeLong(wallClock.millis());
      writer.write(out);
      out.flush();
      db.putMetadata(storeKey(kind, path), bytes.toByteArray());
    } catch (IOException | RuntimeException e) {
      warnStore("cannot store metadata of " + path, e);
    }
  }

  private void delete(byte kind, String path) {
    if (db == null) {
      return;
    }
    try {
      db.deleteMetadata(storeKey(kind, path));
    } catch (IOException e) {
      warnStore("cannot drop stored metadata of " + path, e);
    }
  }

  /** The stored value with the TTL it has left, or null if expired or unreadable. */
  private <T> Timed<T> decode(byte[] stored, Reader<T> reader) {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(stored))) {
      if (in.readByte() != RECORD_VERSION) {
        return null;
      }
      long fetched = in.readLong();
      long ageMillis = Math.max(0, wallClock.millis() - fetched);
      long left;
      if (ttlNanos == Long.MAX_VALUE) {
        left = Long.MAX_VALUE;
      } else {
        left = ttlNanos - TimeUnit.MILLISECONDS.toNanos(ageMillis);
        if (left <= 0) {
          return null;
        }
      }
      T value = reader.read(in);
      if (in.available() != 0) {
        return null;
      }
      return new Timed<>(value, left);
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  private static void writeNode(DataOutputStream out, Node node) throws IOException {
    if (node instanceof Node.File f) {
      ObjectMeta m = f.meta();
      out.writeByte('F');
      out.writeUTF(m.key());
      out.writeLong(m.size());
      out.writeLong(m.lastModified().getEpochSecond());
      out.writeInt(m.lastModified().getNano());
      out.writeUTF(m.etag() == null ? "" : m.etag());
    } else if (node instanceof Node.Directory d) {
      out.writeByte('D');
      out.writeLong(d.mtime().getEpochSecond());
      out.writeInt(d.mtime().getNano());
    } else {
      out.writeByte('A');
    }
  }

  private static Node readNode(DataInputStream in) throws IOException {
    byte type = in.readByte();
    switch (type) {
      case 'F': {
        String key = in.readUTF();
        long size = in.readLong();
        Instant modified = Instant.ofEpochSecond(in.readLong(), in.readInt());
        String etag = in.readUTF();
        return new Node.File(new ObjectMeta(key, size, modified, etag));
      }
      case 'D':
        return new Node.Directory(Instant.ofEpochSecond(in.readLong(), in.readInt()));
      case 'A':
        return Node.ABSENT;
      default:
        throw new IOException("unknown node type " + type);
    }
  }

  private static void writeListing(DataOutputStream out, Listing listing) throws IOException {
    out.writeInt(listing.children().size());
    for (var e : listing.children().entrySet()) {
      out.writeUTF(e.getKey());
      writeNode(out, e.getValue());
    }
  }

  private static Listing readListing(DataInputStream in) throws IOException {
    int n = in.readInt();
    if (n < 0) {
      throw new IOException("negative child count");
    }
    Map<String, Node> children = new LinkedHashMap<>();
    for (int i = 0; i < n; i++) {
      String name = in.readUTF();
      children.put(name, readNode(in));
    }
    return new Listing(children);
  }

  private void warnStore(String what, Exception e) {
    long now = System.nanoTime();
    long last = lastStoreWarning.get();
    if ((last == Long.MIN_VALUE || now - last > TimeUnit.MINUTES.toNanos(1))
        && lastStoreWarning.compareAndSet(last, now)) {
      LOG.warn("metadata cache: {}: {}; treated as a miss", what, e.toString());
    } else {
      LOG.debug("metadata cache: {}", what, e);
    }
  }

  private static boolean startsWith(byte[] key, byte[] prefix) {
    return key.length >= prefix.length
        && java.util.Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
  }

  private static long saturatedNanos(Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  /** Each entry lives for the TTL it was put with; reads do not extend it. */
  private static final class TimedExpiry<T> implements Expiry<String, Timed<T>> {
    @Override
    public long expireAfterCreate(String key, Timed<T> value, long currentTime) {
      return value.ttlNanos();
    }

    @Override
    public long expireAfterUpdate(String key, Timed<T> value, long currentTime,
        long currentDuration) {
      return value.ttlNanos();
    }

    @Override
    public long expireAfterRead(String key, Timed<T> value, long currentTime,
        long currentDuration) {
      return currentDuration;
    }
  }
}
