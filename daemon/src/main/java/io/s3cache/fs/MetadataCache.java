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
 * Stat results and directory listings, each trusted for {@code metadata_ttl} after it was fetched,
 * then kept as <em>stale</em> for up to {@code metadata_max_stale} more: a stale answer is still
 * returned (flagged, so {@link Namespace} can re-list its directory in the background), and past
 * both it is gone. Keys are mount paths ("/a/b"). A zero TTL caches nothing (and nothing is stale).
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

  /** A cached answer, and whether it is past {@code metadata_ttl} (to be revalidated). */
  record Entry<T>(T value, boolean stale) {}

  /**
   * A cached value: fresh for {@code freshNanos} (may be negative: stored long ago) after {@code
   * putAt} (ticker time), kept {@code lifeNanos} in all.
   */
  private record Timed<T>(T value, long freshNanos, long lifeNanos, long putAt) {}

  private static final Logger LOG = LoggerFactory.getLogger(MetadataCache.class);
  private static final byte RECORD_VERSION = 1;
  private static final byte NODE = 'N';
  private static final byte LISTING = 'L';

  private final Duration ttl;
  private final long ttlNanos;
  private final long maxStaleNanos;
  private final Ticker ticker;
  private final Clock wallClock;
  private final Cache<String, Timed<Node>> nodes;
  private final Cache<String, Timed<Listing>> listings;
  private final CacheDatabase db; // null: memory only
  private final byte[] storePrefix; // bucket \0 mount prefix \0
  private final AtomicLong lastStoreWarning = new AtomicLong(Long.MIN_VALUE);

  MetadataCache(Duration ttl, long maxNodes, Ticker ticker) {
    this(ttl, Duration.ZERO, maxNodes, ticker, null, "", "", Clock.systemUTC());
  }

  /**
   * @param db where answers persist across restarts, or null for memory only
   * @param bucket the mount's bucket and {@code prefix} its key prefix, naming stored records
   * @param wallClock the clock of the fetch times stored with each record
   */
  MetadataCache(Duration ttl, Duration maxStale, long maxNodes, Ticker ticker, CacheDatabase db,
      String bucket, String prefix, Clock wallClock) {
    this.ttl = ttl;
    this.ttlNanos = saturatedNanos(ttl);
    // A zero TTL asks S3 every time; an indefinite one never goes stale.
    this.maxStaleNanos = ttl.isZero() || ttlNanos == Long.MAX_VALUE ? 0 : saturatedNanos(maxStale);
    this.ticker = ticker;
    this.wallClock = wallClock;
    this.db = ttl.isZero() ? null : db;
    this.storePrefix = (bucket + "\0" + prefix + "\0").getBytes(StandardCharsets.UTF_8);
    this.nodes = Caffeine.newBuilder().expireAfter(new TimedExpiry<Node>()).maximumSize(maxNodes)
        .ticker(ticker).executor(Runnable::run).build();
    this.listings = Caffeine.newBuilder().expireAfter(new TimedExpiry<Listing>())
        .maximumSize(Math.max(1, maxNodes / 64)).ticker(ticker).executor(Runnable::run).build();
  }

  /** The cached answer for a path, fresh or stale, or null. */
  Node node(String path) {
    Entry<Node> e = nodeEntry(path);
    return e == null ? null : e.value();
  }

  /** The cached answer for a path and whether it is stale, or null when none is kept. */
  Entry<Node> nodeEntry(String path) {
    Timed<Node> t = nodes.getIfPresent(path);
    if (t == null) {
      byte[] stored = load(NODE, path);
      t = stored == null ? null : decode(stored, in -> readNode(in));
      if (t == null) {
        return null;
      }
      nodes.put(path, t);
    }
    return entry(t);
  }

  void putNode(String path, Node node) {
    nodes.put(path, timed(node, ttlNanos));
    store(NODE, path, out -> writeNode(out, node));
  }

  /** The cached listing of a directory, fresh or stale, or null. */
  Listing listing(String dir) {
    Entry<Listing> e = listingEntry(dir);
    return e == null ? null : e.value();
  }

  /** The cached listing of a directory and whether it is stale, or null when none is kept. */
  Entry<Listing> listingEntry(String dir) {
    Timed<Listing> t = listings.getIfPresent(dir);
    if (t == null) {
      byte[] stored = load(LISTING, dir);
      t = stored == null ? null : decode(stored, MetadataCache::readListing);
      if (t == null) {
        return null;
      }
      listings.put(dir, t);
      putChildren(dir, t.value(), t.freshNanos());
    }
    return entry(t);
  }

  /** Caches a listing and, for each child, its node (so a stat after readdir asks S3 nothing). */
  void putListing(String dir, Listing listing) {
    Timed<Listing> before = listings.getIfPresent(dir);
    if (before != null) {
      // Children gone since the last listing: their own entries must not outlive it.
      String base = dir.equals("/") ? "/" : dir + "/";
      for (String name : before.value().children().keySet()) {
        if (!listing.children().containsKey(name)) {
          putNode(base + name, Node.ABSENT);
        }
      }
    }
    listings.put(dir, timed(listing, ttlNanos));
    putChildren(dir, listing, ttlNanos);
    store(LISTING, dir, out -> writeListing(out, listing));
  }

  private void putChildren(String dir, Listing listing, long freshNanos) {
    String base = dir.equals("/") ? "/" : dir + "/";
    listing.children().forEach((name, node) -> nodes.put(base + name, timed(node, freshNanos)));
  }

  private <T> Timed<T> timed(T value, long freshNanos) {
    long life = freshNanos == Long.MAX_VALUE ? Long.MAX_VALUE : freshNanos + maxStaleNanos;
    if (life < 0 && freshNanos > 0) {
      life = Long.MAX_VALUE; // overflow
    }
    return new Timed<>(value, freshNanos, life, ticker.read());
  }

  private <T> Entry<T> entry(Timed<T> t) {
    boolean stale = t.freshNanos() != Long.MAX_VALUE && ticker.read() - t.putAt() >= t.freshNanos();
    return new Entry<>(t.value(), stale);
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

  /** The stored value with the TTL it has left (negative: stale), or null if gone or unreadable. */
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
        if (left <= 0 && left + maxStaleNanos <= 0) {
          return null;
        }
      }
      T value = reader.read(in);
      if (in.available() != 0) {
        return null;
      }
      return timed(value, left);
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
        return new Node.File(ObjectMeta.fromStore(key, size, modified, etag));
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

  /** Each entry lives for the TTL it was put with plus the stale window; reads do not extend it. */
  private static final class TimedExpiry<T> implements Expiry<String, Timed<T>> {
    @Override
    public long expireAfterCreate(String key, Timed<T> value, long currentTime) {
      return value.lifeNanos();
    }

    @Override
    public long expireAfterUpdate(String key, Timed<T> value, long currentTime,
        long currentDuration) {
      return value.lifeNanos();
    }

    @Override
    public long expireAfterRead(String key, Timed<T> value, long currentTime,
        long currentDuration) {
      return currentDuration;
    }
  }
}
