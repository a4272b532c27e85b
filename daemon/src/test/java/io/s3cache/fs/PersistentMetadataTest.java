package io.s3cache.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.cache.BlockCache;
import io.s3cache.cache.BlockKey;
import io.s3cache.cache.CacheDatabase;
import io.s3cache.fuse.DirEntry;
import io.s3cache.fuse.Errno;
import io.s3cache.fuse.FsException;
import io.s3cache.testing.InMemoryObjectClient;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Metadata kept in the cache's RocksDB across restarts, and {@code refresh}. */
class PersistentMetadataTest {

  @TempDir Path dir;
  private final InMemoryObjectClient client = new InMemoryObjectClient("bkt");
  private final AtomicLong wallMillis = new AtomicLong(1_700_000_000_000L);
  private CacheDatabase db;

  @AfterEach
  void close() {
    if (db != null) {
      db.close();
    }
  }

  /** A "process": a fresh filesystem over a freshly opened database. */
  private S3Filesystem start(String prefix, Duration ttl) throws Exception {
    if (db != null) {
      db.close();
    }
    db = CacheDatabase.open(dir.resolve("index"));
    Clock clock = new Clock() {
      @Override
      public java.time.ZoneId getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(java.time.ZoneId zone) {
        return this;
      }

      @Override
      public Instant instant() {
        return Instant.ofEpochMilli(wallMillis.get());
      }
    };
    FsConfig config = new FsConfig("bkt", prefix, ttl, 0, 0, 0444, 0555);
    return S3Filesystem.builder(config, client, new NoBlocks(), new MetricRegistry())
        .metadataDb(db)
        .wallClock(clock)
        .build();
  }

  private static List<String> names(List<DirEntry> entries) {
    return entries.stream().map(DirEntry::name).toList();
  }

  @Test
  void aRestartTrustsStoredListingsForTheRestOfTheirTtl() throws Exception {
    client.put("data/a", "aaa".getBytes(StandardCharsets.UTF_8));
    client.put("data/sub/b", "b".getBytes(StandardCharsets.UTF_8));
    S3Filesystem fs = start("", Duration.ofMinutes(10));
    assertEquals(List.of("sub", "a"), names(fs.readdir("/data")));
    assertEquals(3, fs.getattr("/data/a").size());
    int asked = client.requests();

    wallMillis.addAndGet(Duration.ofMinutes(9).toMillis());
    S3Filesystem restarted = start("", Duration.ofMinutes(10));
    assertEquals(List.of("sub", "a"), names(restarted.readdir("/data")));
    assertEquals(3, restarted.getattr("/data/a").size());
    assertEquals(asked, client.requests(), "nothing asked of S3 after the restart");

    wallMillis.addAndGet(Duration.ofMinutes(2).toMillis()); // 11 minutes after the fetch
    S3Filesystem later = start("", Duration.ofMinutes(10));
    later.readdir("/data");
    assertTrue(client.requests() > asked, "an expired stored listing is fetched again");
  }

  @Test
  void indefiniteMetadataSurvivesAnyRestartUntilRefreshed() throws Exception {
    client.put("d/x", new byte[5]);
    Duration forever = io.s3cache.config.DurationValue.parse("metadata_ttl", "indefinite");
    S3Filesystem fs = start("", forever);
    assertEquals(List.of("x"), names(fs.readdir("/d")));
    client.put("d/y", new byte[7]);
    client.put("d/x", new byte[9]); // replaced
    wallMillis.addAndGet(Duration.ofDays(400).toMillis());
    S3Filesystem restarted = start("", forever);
    assertEquals(List.of("x"), names(restarted.readdir("/d")));
    assertEquals(5, restarted.getattr("/d/x").size());
    FsException absent = assertThrows(FsException.class, () -> restarted.getattr("/d/y"));
    assertEquals(Errno.ENOENT, absent.errno());

    S3Filesystem.RefreshOutcome r = restarted.refresh("/d");
    assertTrue(r.dropped() > 0);
    assertEquals(List.of("d"), r.rootNames());
    assertEquals(List.of("x", "y"), names(restarted.readdir("/d")));
    assertEquals(9, restarted.getattr("/d/x").size());
    // ...and the refreshed answers are what a restart sees now.
    S3Filesystem again = start("", forever);
    assertEquals(List.of("x", "y"), names(again.readdir("/d")));
  }

  @Test
  void refreshOfOnePathLeavesItsSiblingsCached() throws Exception {
    client.put("a/1", new byte[1]);
    client.put("ab/2", new byte[2]);
    Duration forever = io.s3cache.config.DurationValue.parse("metadata_ttl", "indefinite");
    S3Filesystem fs = start("", forever);
    fs.readdir("/");
    fs.readdir("/a");
    fs.readdir("/ab");
    client.put("a/new", new byte[3]);
    client.put("ab/new", new byte[3]);
    fs.refresh("/a");
    assertEquals(List.of("1", "new"), names(fs.readdir("/a")));
    assertEquals(List.of("2"), names(fs.readdir("/ab")), "a sibling sharing a name prefix is kept");
    S3Filesystem.RefreshOutcome root = fs.refresh("/");
    assertEquals(List.of("a", "ab"), root.rootNames());
    assertEquals(List.of("2", "new"), names(fs.readdir("/ab")));
  }

  @Test
  void mountsOfOneBucketUnderDifferentPrefixesKeepSeparateRecords() throws Exception {
    client.put("p/q/f", new byte[4]);
    S3Filesystem whole = start("", Duration.ofMinutes(5));
    assertEquals(List.of("q"), names(whole.readdir("/p")));
    S3Filesystem sub = start("p", Duration.ofMinutes(5));
    assertEquals(List.of("f"), names(sub.readdir("/q")));
    assertEquals(List.of("q"), names(sub.readdir("/")), "not the whole bucket's root listing");
  }

  /** Reads are not part of these tests. */
  private static final class NoBlocks implements BlockCache {
    @Override
    public int blockSize() {
      return 64 << 10;
    }

    @Override
    public ByteBuffer get(BlockKey key, int length) {
      throw new AssertionError("no reads expected");
    }

    @Override
    public void close() {}
  }
}
