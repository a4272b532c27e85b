package io.s3cache.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.s3cache.config.SettingKey;
import io.s3cache.mount.BucketMount;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Objects replaced or deleted in S3 under a real mount: a reader never gets a mix of two versions
 * (old bytes or an error), and new opens see the change once {@code metadata_ttl} has passed.
 *
 * <p>Versions are told apart byte by byte: byte {@code i} of version {@code v} is
 * {@code (i % 251) ^ TAGS[v]}, so each byte read says which version it came from.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChangingObjectTest {

  private static final int MiB = 1 << 20;
  private static final int[] TAGS = {0x11, 0x22, 0x44, 0x88, 0x33, 0x66, 0xcc, 0x99, 0x55, 0xaa, 0x0f, 0xf0};

  private MountFixture fx;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    fx = new MountFixture(dir);
  }

  @AfterAll
  void stop() {
    fx.close();
  }

  static byte[] version(int v, int size) {
    byte[] b = new byte[size];
    for (int i = 0; i < size; i++) {
      b[i] = (byte) ((i % 251) ^ TAGS[v]);
    }
    return b;
  }

  /** The version every byte of {@code chunk} (read at {@code offset}) belongs to; fails on a mix. */
  static int versionOf(byte[] chunk, int length, long offset) {
    int tag = (chunk[0] ^ (int) (offset % 251)) & 0xff;
    int v = -1;
    for (int i = 0; i < TAGS.length; i++) {
      v = TAGS[i] == tag ? i : v;
    }
    assertTrue(v >= 0, "byte at " + offset + " belongs to no version");
    for (int i = 0; i < length; i++) {
      if ((byte) (((offset + i) % 251) ^ TAGS[v]) != chunk[i]) {
        throw new AssertionError("chunk at " + offset + " (" + length + " bytes) mixes version " + v
            + " with another at byte " + (offset + i));
      }
    }
    return v;
  }

  @Test
  void aReaderOfAnOverwrittenObjectGetsOldBytesThenEstaleAndNewOpensSeeTheNewVersionAfterTheTtl() throws Exception {
    fx.server.createBucket("over");
    fx.put("over", "f", version(0, 8 * MiB));
    BucketMount m = fx.mount("s3://over", "over", Map.of(SettingKey.BLOCK_SIZE, "1M",
        SettingKey.READ_AHEAD, "0", SettingKey.METADATA_TTL, "2s", SettingKey.METADATA_MAX_STALE, "0"));
    Path f = m.mountPoint().resolve("f");
    IOException failure = null;
    long offset = 0;
    try (FileChannel ch = FileChannel.open(f)) {
      ByteBuffer buf = ByteBuffer.allocate(128 * 1024);
      assertEquals(0, versionOf(buf.array(), ch.read(buf, 0), 0));
      offset = buf.position();
      fx.put("over", "f", version(1, 8 * MiB + 4096));
      try {
        for (int n; (n = ch.read(buf.clear(), offset)) > 0; offset += n) {
          assertEquals(0, versionOf(buf.array(), n, offset), "the handle stays on the version it opened");
        }
      } catch (IOException e) {
        failure = e;
      }
    }
    // Block 0 was cached before the overwrite; block 1 is fetched with If-Match of version 0 and S3
    // answers 412, which the reader sees as ESTALE rather than bytes of version 1.
    assertTrue(failure != null, "the old handle read " + offset + " bytes without an error");
    assertTrue(failure.getMessage().contains("Stale file handle"), failure.toString());
    assertEquals(MiB, offset, "every byte of the cached block 0 was served, none after it");

    Thread.sleep(2_500); // metadata_ttl (2 s) for the kernel's cached attributes, and a margin
    assertEquals(8 * MiB + 4096, Files.size(f));
    assertArrayEquals(version(1, 8 * MiB + 4096), Files.readAllBytes(f));
  }

  @Test
  void aSameSizeOverwriteIsReadWholeByTheNextOpenAfterTheTtl() throws Exception {
    fx.server.createBucket("same");
    int size = 3 * MiB + 77;
    fx.put("same", "f", version(0, size));
    BucketMount m = fx.mount("s3://same", "same", Map.of(SettingKey.BLOCK_SIZE, "1M", SettingKey.METADATA_TTL, "1s",
        SettingKey.METADATA_MAX_STALE, "0"));
    Path f = m.mountPoint().resolve("f");
    assertArrayEquals(version(0, size), Files.readAllBytes(f)); // fills the kernel's page cache
    fx.put("same", "f", version(1, size));
    Thread.sleep(1_500); // metadata_ttl (1 s), and a margin
    byte[] got = Files.readAllBytes(f);
    for (int off = 0; off < size; off += 4096) {
      assertEquals(1, versionOf(java.util.Arrays.copyOfRange(got, off, Math.min(size, off + 4096)),
          Math.min(4096, size - off), off), "page at " + off);
    }
  }

  @Test
  void concurrentReadersOfAnObjectRewrittenAgainAndAgainNeverSeeAMix() throws Exception {
    fx.server.createBucket("churn");
    int size = 2 * MiB + 123;
    fx.put("churn", "f", version(0, size));
    // metadata_ttl=0: every open asks S3, so handles of different versions are open at once.
    BucketMount m = fx.mount("s3://churn", "churn", Map.of(SettingKey.BLOCK_SIZE, "256K",
        SettingKey.METADATA_TTL, "0"));
    Path f = m.mountPoint().resolve("f");
    AtomicBoolean writing = new AtomicBoolean(true);
    AtomicInteger clean = new AtomicInteger();
    AtomicInteger chunks = new AtomicInteger();
    Map<String, AtomicInteger> errors = new ConcurrentHashMap<>();
    ExecutorService pool = Executors.newFixedThreadPool(5);
    try {
      Future<Integer> writer = pool.submit(() -> {
        int v = 0;
        for (long end = System.nanoTime() + 6_000_000_000L; System.nanoTime() < end; ) {
          v = (v + 1) % TAGS.length;
          fx.put("churn", "f", version(v, size));
          Thread.sleep(150);
        }
        writing.set(false);
        return v;
      });
      List<Future<?>> readers = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        readers.add(pool.submit(() -> {
          ByteBuffer buf = ByteBuffer.allocate(96 * 1024 + 7); // chunks straddle blocks and pages
          while (writing.get()) {
            try (FileChannel ch = FileChannel.open(f)) {
              int v = -1;
              for (long off = 0, n; (n = ch.read(buf.clear(), off)) > 0; off += n) {
                int got = versionOf(buf.array(), (int) n, off);
                assertTrue(v < 0 || v == got, "one handle saw version " + v + " then " + got + " at " + off);
                v = got;
                chunks.incrementAndGet();
              }
              clean.incrementAndGet();
            } catch (IOException e) {
              errors.computeIfAbsent(String.valueOf(e.getMessage()).replaceAll(".*: ", ""), k -> new AtomicInteger())
                  .incrementAndGet();
            }
          }
          return null;
        }));
      }
      int last = writer.get();
      for (Future<?> r : readers) {
        r.get();
      }
      System.out.printf("rewrites: %d chunks checked, %d whole reads of one version, errors %s%n", chunks.get(),
          clean.get(), errors);
      // How many reads complete before an ESTALE depends on the machine's load; every chunk that
      // was read is checked, and there must be some.
      assertTrue(chunks.get() > 0, "some chunks were read");
      // After the last write, a fresh open (metadata_ttl=0) reads the last version whole.
      assertArrayEquals(version(last, size), Files.readAllBytes(f));
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aDeletedObjectDisappearsAfterTheTtl() throws Exception {
    fx.server.createBucket("del");
    fx.put("del", "dir/doomed", version(2, 1000));
    fx.put("del", "dir/kept", version(3, 1000));
    BucketMount m = fx.mount("s3://del", "del", Map.of(SettingKey.METADATA_TTL, "2s",
        SettingKey.METADATA_MAX_STALE, "0"));
    Path dir = m.mountPoint().resolve("dir");
    assertEquals(List.of("doomed", "kept"), names(dir));
    assertArrayEquals(version(2, 1000), Files.readAllBytes(dir.resolve("doomed")));
    fx.s3().deleteObject(b -> b.bucket("del").key("dir/doomed"));
    Thread.sleep(2_500); // metadata_ttl (2 s), and a margin
    assertEquals(List.of("kept"), names(dir));
    assertFalse(Files.exists(dir.resolve("doomed")));
    assertThrows(NoSuchFileException.class, () -> Files.readAllBytes(dir.resolve("doomed")));
  }

  /**
   * The default stale window (metadata_max_stale): past the TTL the first look still gets the old
   * answer at once, and re-lists the directory in the background; after that, opens see the change.
   */
  @Test
  void pastTheTtlTheFirstLookIsServedStaleAndStartsAReListThatBringsTheChange() throws Exception {
    fx.server.createBucket("swr");
    fx.put("swr", "dir/f", version(4, 1000));
    fx.put("swr", "dir/doomed", version(5, 1000));
    BucketMount m = fx.mount("s3://swr", "swr", Map.of(SettingKey.METADATA_TTL, "1s"));
    Path dir = m.mountPoint().resolve("dir");
    assertEquals(List.of("doomed", "f"), names(dir));
    assertArrayEquals(version(4, 1000), Files.readAllBytes(dir.resolve("f")));
    fx.put("swr", "dir/f", version(6, 2000));
    fx.s3().deleteObject(b -> b.bucket("swr").key("dir/doomed"));
    Thread.sleep(1_500); // metadata_ttl (1 s) for s3cache and the kernel, and a margin
    assertEquals(1000, Files.size(dir.resolve("f")), "the first look past the TTL is answered from the cache");
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
    while (Files.size(dir.resolve("f")) != 2000 && System.nanoTime() < deadline) {
      Thread.sleep(100); // the kernel asks again after its 1 s attr timeout; the re-list is done by then
    }
    assertEquals(2000, Files.size(dir.resolve("f")));
    assertArrayEquals(version(6, 2000), Files.readAllBytes(dir.resolve("f")));
    assertEquals(List.of("f"), names(dir));
    assertFalse(Files.exists(dir.resolve("doomed")));
  }

  private static List<String> names(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
