package io.s3cache.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.s3cache.config.SettingKey;
import io.s3cache.fuse.MountTable;
import io.s3cache.mount.BucketMount;
import io.s3cache.testing.data.PageCache;
import io.s3cache.testing.data.SampleDataset;
import io.s3cache.testing.data.TreeReader;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;

/** Reads through a real FUSE mount of a real S3 server and checks every byte and attribute. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReadThroughMountTest {

  private static final int MiB = 1 << 20;

  private Path dir;
  private MountFixture fx;

  @BeforeAll
  void start(@TempDir Path tempDir) throws Exception {
    dir = tempDir;
    fx = new MountFixture(dir);
  }

  @AfterAll
  void stop() {
    fx.close();
  }

  @Test
  void wholeFilesHaveTheSourceSha256() throws Exception {
    fx.server.createBucket("sha");
    Map<String, byte[]> files = Map.of(
        "empty", new byte[0],
        "one", new byte[] {42},
        "exactly-one-block", SampleDataset.content(4 * MiB, 1),
        "block-plus-one", SampleDataset.content(4 * MiB + 1, 2),
        "dir/odd-size", SampleDataset.content(10 * MiB + 12_345, 3));
    files.forEach((k, v) -> fx.put("sha", k, v));
    BucketMount m = fx.mount("s3://sha", "sha", Map.of(SettingKey.BLOCK_SIZE, "4M"));
    for (var e : files.entrySet()) {
      assertEquals(SampleDataset.sha256(e.getValue()), TreeReader.sha256(m.mountPoint().resolve(e.getKey())), e.getKey());
    }
  }

  @Test
  void thousandRandomReadsOfA256MiBObjectAreByteExact() throws Exception {
    fx.server.createBucket("big");
    byte[] content = SampleDataset.content(256 * MiB, 7);
    fx.put("big", "big.bin", content);
    BucketMount m = fx.mount("s3://big", "big", Map.of(SettingKey.BLOCK_SIZE, "1M"));
    Random random = new Random(11);
    try (FileChannel ch = FileChannel.open(m.mountPoint().resolve("big.bin"))) {
      assertEquals(content.length, ch.size());
      for (int i = 0; i < 1000; i++) {
        int length = 1 + random.nextInt(3 * MiB);
        // Every other read starts just before a block boundary so it straddles it.
        int offset = i % 2 == 0
            ? random.nextInt(content.length)
            : Math.max(0, (1 + random.nextInt(255)) * MiB - 1 - random.nextInt(4096));
        ByteBuffer dst = ByteBuffer.allocate(length);
        int n = 0;
        while (dst.hasRemaining()) {
          int r = ch.read(dst, offset + n);
          if (r < 0) {
            break;
          }
          n += r;
        }
        assertEquals(Math.min(length, content.length - offset), n, "bytes read at " + offset);
        assertArrayEquals(Arrays.copyOfRange(content, offset, offset + n), Arrays.copyOf(dst.array(), n),
            "read " + i + " at offset " + offset + " length " + length);
      }
    }
  }

  @Test
  void nestedPrefixesListWithSizesAndMtimes() throws Exception {
    fx.server.createBucket("tree");
    List<String> keys = List.of("top.txt", "a/one.txt", "a/b/two.txt", "a/b/c/three.txt", "x/y/z/deep.bin",
        "ünïcødé/файл 1.txt");
    for (int i = 0; i < keys.size(); i++) {
      fx.put("tree", keys.get(i), SampleDataset.content(100 + i * 1000, i));
    }
    fx.put("tree", "marker-only/", new byte[0]);
    BucketMount m = fx.mount("s3://tree", "tree", Map.of());
    Path root = m.mountPoint();
    assertEquals(List.of("a", "marker-only", "top.txt", "x", "ünïcødé"), list(root));
    assertEquals(List.of("файл 1.txt"), list(root.resolve("ünïcødé")));
    assertEquals(List.of("b", "one.txt"), list(root.resolve("a")));
    assertEquals(List.of("c", "two.txt"), list(root.resolve("a/b")));
    assertEquals(List.of(), list(root.resolve("marker-only")));
    assertTrue(Files.isDirectory(root.resolve("x/y/z")));
    for (int i = 0; i < keys.size(); i++) {
      String key = keys.get(i);
      HeadObjectResponse head = fx.s3().headObject(b -> b.bucket("tree").key(key));
      BasicFileAttributes attrs = Files.readAttributes(root.resolve(key), BasicFileAttributes.class);
      assertTrue(attrs.isRegularFile());
      assertEquals(100 + i * 1000, attrs.size(), key);
      assertEquals(head.lastModified().getEpochSecond(), attrs.lastModifiedTime().toInstant().getEpochSecond(), key);
    }
    // A prefix mount shows the prefix as its root.
    BucketMount sub = fx.mount("s3://tree/a/b", "tree-sub", Map.of());
    assertEquals(List.of("c", "two.txt"), list(sub.mountPoint()));
  }

  @Test
  void fiveThousandSmallObjectsAreAllReadable() throws Exception {
    fx.server.createBucket("small");
    SampleDataset data = SampleDataset.upload(fx.s3(), "small", "", 0, 0, 5000, 5);
    BucketMount m = fx.mount("s3://small", "small", Map.of());
    List<Path> files = TreeReader.files(m.mountPoint());
    assertEquals(5000, files.size());
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<Boolean>> checks = new ArrayList<>();
      for (SampleDataset.Item item : data.items()) {
        checks.add(pool.submit(() -> item.sha256().equals(TreeReader.sha256(m.mountPoint().resolve(item.key())))));
      }
      for (int i = 0; i < checks.size(); i++) {
        assertTrue(checks.get(i).get(), data.items().get(i).key());
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void sixteenThreadsReadingOneFileGetCorrectBytes() throws Exception {
    fx.server.createBucket("shared");
    byte[] content = SampleDataset.content(40 * MiB + 3, 9);
    fx.put("shared", "f", content);
    BucketMount m = fx.mount("s3://shared", "shared", Map.of(SettingKey.BLOCK_SIZE, "1M"));
    String expected = SampleDataset.sha256(content);
    ExecutorService pool = Executors.newFixedThreadPool(16);
    try {
      List<Future<String>> results = new ArrayList<>();
      for (int t = 0; t < 16; t++) {
        results.add(pool.submit(() -> TreeReader.sha256(m.mountPoint().resolve("f"))));
      }
      for (Future<String> r : results) {
        assertEquals(expected, r.get());
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void secondFullReadMakesNoGetRequests() throws Exception {
    fx.server.createBucket("again");
    SampleDataset.upload(fx.s3(), "again", "", 3, 6 * MiB, 200, 13);
    BucketMount m = fx.mount("s3://again", "again", Map.of(SettingKey.BLOCK_SIZE, "1M"));
    List<Path> files = TreeReader.files(m.mountPoint());
    long before = fx.gets();
    TreeReader.readAll(files, 4);
    long afterFirst = fx.gets();
    assertTrue(afterFirst - before >= 200 + 18, "the first read fetches every block: " + (afterFirst - before));
    long ramHits = m.tieredCache().stats().ramHits();
    boolean dropped = PageCache.drop(); // so the second read reaches s3cache, not just the kernel's cache
    TreeReader.readAll(files, 4);
    assertEquals(afterFirst, fx.gets(), "no GET on the second read");
    if (dropped) {
      assertTrue(m.tieredCache().stats().ramHits() - ramHits >= 218, "served from the RAM tier");
    }
  }

  @Test
  void readingThreeTimesTheDiskCapNeverExceedsIt() throws Exception {
    fx.server.createBucket("over");
    SampleDataset.upload(fx.s3(), "over", "", 24, 4 * MiB, 0, 17);
    long cap = 32L * MiB;
    BucketMount m = fx.mount("s3://over", "over",
        Map.of(SettingKey.RAM_CACHE, "0", SettingKey.DISK_CACHE, "32M", SettingKey.BLOCK_SIZE, "1M"));
    Path cacheDir = m.spec().cache().cacheDir();
    // One reader, and du only once the tier's background writes are done: du walks the tree one
    // directory at a time, so during concurrent eviction it can count a deleted file and its
    // replacement together. The tier's own accounting (reserved before any byte is written) is
    // sampled throughout instead, and unit tests check it under concurrent writers.
    long maxSeen = 0;
    long maxCharged = 0;
    for (Path f : TreeReader.files(m.mountPoint())) {
      try (FileChannel ch = FileChannel.open(f)) {
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        while (ch.read(buf.clear()) >= 0) {
          maxCharged = Math.max(maxCharged, m.tieredCache().stats().diskBytes());
        }
      }
      m.tieredCache().awaitDiskWrites();
      maxSeen = Math.max(maxSeen, DiskUsage.of(cacheDir));
    }
    assertTrue(maxCharged <= cap, "disk tier charged " + maxCharged + " bytes, over the cap of " + cap);
    assertTrue(maxSeen > cap / 2, "the disk tier was used: " + maxSeen);
    assertTrue(maxSeen <= cap, "cache dir reached " + maxSeen + " bytes, over the cap of " + cap);
  }

  @Test
  void unmountLeavesNothingMounted() throws Exception {
    fx.server.createBucket("gone");
    fx.put("gone", "f", new byte[] {1, 2, 3});
    BucketMount m = fx.mount("s3://gone", "gone", Map.of());
    assertTrue(MountTable.isMounted(m.mountPoint()));
    assertEquals("fuse.s3cache", MountTable.find(m.mountPoint()).orElseThrow().fsType());
    m.unmount();
    assertFalse(MountTable.isMounted(m.mountPoint()));
    assertTrue(m.terminated().isDone(), "libfuse's loop has ended");
    assertFalse(Files.exists(m.mountPoint().resolve("f")));
  }

  private static List<String> list(Path dir) throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
