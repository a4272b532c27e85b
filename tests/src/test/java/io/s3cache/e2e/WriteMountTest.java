package io.s3cache.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import io.s3cache.fuse.MountTable;
import io.s3cache.metrics.MetricNames;
import io.s3cache.mount.BucketMount;
import io.s3cache.mount.MountSpec;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.ResponseTransformer;

/**
 * Real tools writing through a real writable mount (-o rw) into an S3 server on loopback: cp of a
 * 1 GiB file in and out (about 40 s here, most of it S3Proxy's filesystem backend taking the
 * multipart upload on 2 shared cores), tar -x and tar -c of a tree, dd with conv=fsync, a checkpoint saved as
 * temp file + rename (one upload, to the final key), rm/mkdir/rmdir, EROFS on a read-only mount,
 * ENOSPC when the cache disk is full.
 */
@Timeout(300)
class WriteMountTest {
  private static final long MIB = 1 << 20;

  @TempDir Path dir;
  private MountFixture fx;
  private final List<BucketMount> mounts = new ArrayList<>();
  private Path tmpfs;

  @BeforeEach
  void start() throws Exception {
    fx = new MountFixture(dir);
    fx.server.createBucket("wbk");
  }

  @AfterEach
  void stop() throws Exception {
    try {
      for (BucketMount m : mounts) {
        m.close();
      }
      fx.close();
    } finally {
      if (tmpfs != null) {
        new ProcessBuilder("umount", "-l", tmpfs.toString()).start().waitFor();
      }
    }
  }

  private BucketMount mount(String name, MetricRegistry metrics, Map<SettingKey, String> overrides, String... options)
      throws Exception {
    Settings settings = fx.settings(name);
    overrides.forEach(settings::set);
    Path mnt = Files.createDirectories(dir.resolve("mnt-" + name));
    BucketMount m = BucketMount.open(MountSpec.from("s3://wbk", mnt, settings, List.of(options)), metrics,
        fx.server.credentials());
    mounts.add(m);
    return m;
  }

  private static void run(Path cwd, String... command) throws Exception {
    Process p = new ProcessBuilder(command).directory(cwd.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor(), String.join(" ", command) + ": " + out);
  }

  private static String runFailing(Path cwd, String... command) throws Exception {
    Process p = new ProcessBuilder(command).directory(cwd.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertNotEquals(0, p.waitFor(), String.join(" ", command) + " should fail: " + out);
    return out;
  }

  /** A file of pseudo-random bytes (fast to make, incompressible enough for S3). */
  static void randomFile(Path file, long size, long seed) throws IOException {
    SplittableRandom random = new SplittableRandom(seed);
    ByteBuffer buf = ByteBuffer.allocate(1 << 20);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      for (long left = size; left > 0; ) {
        buf.clear();
        while (buf.remaining() >= 8) {
          buf.putLong(random.nextLong());
        }
        buf.flip().limit((int) Math.min(buf.limit(), left));
        left -= buf.remaining();
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
      }
    }
  }

  static String sha(Path file) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    try (FileChannel ch = FileChannel.open(file)) {
      ByteBuffer buf = ByteBuffer.allocate(1 << 20);
      while (ch.read(buf) > 0) {
        md.update(buf.flip());
        buf.clear();
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private String s3Sha(String key) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    try (var in = fx.s3().getObject(b -> b.bucket("wbk").key(key), ResponseTransformer.toInputStream())) {
      byte[] buf = new byte[1 << 20];
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private List<String> keys() {
    return fx.s3().listObjectsV2(b -> b.bucket("wbk")).contents().stream().map(o -> o.key()).toList();
  }

  @Test
  @Timeout(900)
  void cpOfALargeFileInAndOutKeepsEveryByteAndReadsBackWithoutAGet() throws Exception {
    Path src = dir.resolve("big.src");
    randomFile(src, 1024 * MIB, 42);
    String expected = sha(src);
    MetricRegistry metrics = new MetricRegistry();
    // Room for the whole file in the disk tier, so reading it back needs no GET.
    BucketMount m = mount("cp", metrics, Map.of(SettingKey.DISK_CACHE, "2G"), "rw");
    long start = System.nanoTime();
    run(dir, "cp", src.toString(), m.mountPoint().resolve("big.bin").toString());
    long inMillis = (System.nanoTime() - start) / 1_000_000;
    Files.delete(src);
    assertEquals(expected, s3Sha("big.bin"), "S3 holds exactly the bytes written");
    Path out = dir.resolve("big.out");
    start = System.nanoTime();
    run(dir, "cp", m.mountPoint().resolve("big.bin").toString(), out.toString());
    long outMillis = (System.nanoTime() - start) / 1_000_000;
    assertEquals(expected, sha(out));
    assertEquals(0, metrics.timer(MetricNames.S3_GET).getCount(), "read back from the cache the write filled");
    assertEquals(1, metrics.timer(MetricNames.UPLOADS).getCount());
    // 64 parts of 16 MiB; all but the ones still being written when cp closed went up before.
    assertTrue(metrics.counter(MetricNames.UPLOAD_PARTS_WHILE_WRITING).getCount() >= 32,
        "parts sent while cp wrote: " + metrics.counter(MetricNames.UPLOAD_PARTS_WHILE_WRITING).getCount());
    System.out.printf("cp 1 GiB into the mount: %d ms, out of it: %d ms%n", inMillis, outMillis);
    Files.delete(out);
  }

  @Test
  void tarTreeInAndOutDdWithFsyncAndRemoval() throws Exception {
    Path src = Files.createDirectories(dir.resolve("tree/a/b"));
    Files.createDirectories(dir.resolve("tree/empty"));
    Files.writeString(dir.resolve("tree/readme.txt"), "hello\n");
    Files.writeString(dir.resolve("tree/.hidden"), "dot\n");
    randomFile(dir.resolve("tree/a/b/data.bin"), 3 * MIB + 17, 1);
    for (int i = 0; i < 20; i++) {
      Files.writeString(dir.resolve("tree/a/f" + i), "file " + i);
    }
    BucketMount m = mount("tar", new MetricRegistry(), Map.of(), "rw");
    Path mnt = m.mountPoint();
    Files.createDirectory(mnt.resolve("t"));
    run(dir, "sh", "-c", "tar -C tree -cf - . | tar -C " + mnt.resolve("t") + " -xf -");
    assertEquals("hello\n", new String(fx.s3().getObjectAsBytes(b -> b.bucket("wbk").key("t/readme.txt")).asByteArray()));
    assertTrue(keys().contains("t/empty/"), "an empty directory is a marker object");
    Path back = Files.createDirectories(dir.resolve("back"));
    run(dir, "sh", "-c", "tar -C " + mnt.resolve("t") + " -cf - . | tar -C back -xf -");
    run(dir, "diff", "-r", "tree", "back");

    Path ddSrc = dir.resolve("dd.src");
    randomFile(ddSrc, 20 * MIB, 2);
    run(dir, "dd", "if=" + ddSrc, "of=" + mnt.resolve("dd.bin"), "bs=1M", "conv=fsync", "status=none");
    assertEquals(sha(ddSrc), s3Sha("dd.bin"));

    run(dir, "sh", "-c", "echo more >> " + mnt.resolve("t/readme.txt"));
    assertEquals("hello\nmore\n", new String(fx.s3().getObjectAsBytes(b -> b.bucket("wbk").key("t/readme.txt")).asByteArray()));

    run(dir, "rm", "-rf", mnt.resolve("t").toString());
    assertTrue(keys().stream().noneMatch(k -> k.startsWith("t/")), "rm -rf removed every object: " + keys());
    assertFalse(Files.exists(mnt.resolve("t")));
    String mv = runFailing(dir, "mv", "-T", "--no-copy", mnt.resolve("a").toString(), mnt.resolve("c").toString());
    assertFalse(mv.isEmpty());
  }

  @Test
  void checkpointSavedAsTempFileThenRenamedIsOneUploadToTheFinalKey() throws Exception {
    MetricRegistry metrics = new MetricRegistry();
    BucketMount m = mount("ckpt", metrics, Map.of(SettingKey.MULTIPART_THRESHOLD, "8M", SettingKey.UPLOAD_PART_SIZE, "5M"), "rw");
    Path ckptDir = Files.createDirectories(m.mountPoint().resolve("ckpt"));
    for (int epoch = 0; epoch < 2; epoch++) {
      byte[] state = new byte[(int) (12 * MIB)];
      new SplittableRandom(epoch).nextBytes(state);
      Path tmp = Files.createTempFile(ckptDir, "model", ".tmp");
      try (OutputStream out = Files.newOutputStream(tmp)) {
        out.write(state);
      }
      Files.move(tmp, ckptDir.resolve("model.pt"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      assertArrayEquals(state, fx.s3().getObjectAsBytes(b -> b.bucket("wbk").key("ckpt/model.pt")).asByteArray());
      assertArrayEquals(state, Files.readAllBytes(ckptDir.resolve("model.pt")));
    }
    assertEquals(List.of("ckpt/", "ckpt/model.pt"), keys(), "no temp key is left");
    assertEquals(2, metrics.timer(MetricNames.UPLOADS).getCount(), "one upload per checkpoint");
    assertEquals(0, metrics.timer(MetricNames.S3_PUT).getCount() - 1, "only the directory marker was a PUT");
    assertEquals(0, metrics.timer(MetricNames.S3_COPY).getCount(), "no server-side copy");
  }

  @Test
  void readOnlyMountRefusesWritesWithErofs() throws Exception {
    fx.put("wbk", "x", new byte[] {1});
    BucketMount m = mount("ro", new MetricRegistry(), Map.of());
    IOException e = assertThrows(IOException.class, () -> Files.writeString(m.mountPoint().resolve("y"), "no"));
    assertTrue(String.valueOf(e.getMessage()).contains("Read-only file system"), e.toString());
    assertTrue(runFailing(dir, "rm", m.mountPoint().resolve("x").toString()).contains("Read-only file system"));
    assertEquals(List.of("x"), keys());
  }

  @Test
  void fullCacheDiskGivesTheWriterEnospcAndUploadsNothing() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")), "mounting a tmpfs needs root");
    tmpfs = Files.createDirectories(dir.resolve("small"));
    run(dir, "mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", tmpfs.toString());
    BucketMount m = mount("full", new MetricRegistry(), Map.of(SettingKey.CACHE_DIR, tmpfs.resolve("cache").toString(),
        SettingKey.DISK_CACHE, "16M", SettingKey.DISK_MIN_FREE, "0", SettingKey.BLOCK_SIZE, "1M"), "rw");
    String out = runFailing(dir, "dd", "if=/dev/zero", "of=" + m.mountPoint().resolve("huge.bin"), "bs=1M", "count=80");
    assertTrue(out.contains("No space left on device"), out);
    assertFalse(keys().contains("huge.bin"), "no partial upload: " + fx.s3().listObjectsV2(b -> b.bucket("wbk")).contents());
    // Freed at release, which the kernel sends after dd's close returned, and once the part uploads
    // of the broken-off streaming upload that were running have settled (each reads the staged file
    // through its own descriptor, which holds the deleted file's space): wait for both (bounded).
    java.nio.file.FileStore store = Files.getFileStore(tmpfs);
    for (long end = System.nanoTime() + 30_000_000_000L;
        stagedData(tmpfs.resolve("cache")) > 0 || store.getUsableSpace() < 32 * MIB; Thread.sleep(20)) {
      assertTrue(System.nanoTime() < end, "the failed file's staged bytes were not freed within 30 s ("
          + store.getUsableSpace() + " bytes free)");
    }
    Files.writeString(m.mountPoint().resolve("small.txt"), "fits");
    assertEquals(List.of("small.txt"), keys());
  }

  @Test
  void removingOpenFilesLeavesNothingBehindInS3AndTheirDescriptorsKeepWorking() throws Exception {
    byte[] content = new byte[(int) (3 * MIB)];
    new java.util.Random(5).nextBytes(content);
    fx.put("wbk", "kept.bin", content);
    BucketMount m = mount("rmopen", new MetricRegistry(), Map.of(), "rw");
    Path kept = m.mountPoint().resolve("kept.bin");
    Path scratch = m.mountPoint().resolve("scratch.bin");
    try (FileChannel reader = FileChannel.open(kept);
        java.io.RandomAccessFile writer = new java.io.RandomAccessFile(scratch.toFile(), "rw")) {
      ByteBuffer first = ByteBuffer.allocate((int) MIB);
      assertEquals(MIB, reader.read(first, 0));
      writer.write(new byte[5000]);
      run(dir, "rm", kept.toString(), scratch.toString());
      assertEquals(List.of(), keys(), "the object is deleted and nothing was renamed to .fuse_hidden*");
      assertFalse(Files.exists(kept) || Files.exists(scratch));
      // Both descriptors keep working by handle (fstat does not: see SEMANTICS.md).
      ByteBuffer again = ByteBuffer.allocate(4096);
      assertEquals(4096, reader.read(again, 0));
      assertArrayEquals(java.util.Arrays.copyOf(content, 4096), again.array());
      writer.write(new byte[1000]);
      writer.getFD().sync();
      writer.setLength(4000); // ftruncate, then lseek(SEEK_END): attributes by handle
      writer.seek(0);
      assertEquals(4000, writer.read(new byte[10_000]));
      assertEquals(-1, writer.read());
    }
    assertEquals(List.of(), keys(), "closing the removed files uploads nothing");
    // The kernel sends release after close(2) has returned: wait (bounded) for it to free the bytes.
    for (long end = System.nanoTime() + 30_000_000_000L; stagedData(dir.resolve("cache-rmopen")) > 0; Thread.sleep(20)) {
      assertTrue(System.nanoTime() < end, "the removed file's staged bytes were not freed within 30 s");
    }
  }

  private static long stagedData(Path cacheDir) throws IOException {
    try (var s = Files.list(cacheDir.resolve("staging"))) {
      return s.filter(p -> p.toString().endsWith(".data")).count();
    }
  }

  @Test
  void mountPointIsLeftClean() throws Exception {
    BucketMount m = mount("clean", new MetricRegistry(), Map.of(), "rw");
    Path p = m.mountPoint();
    m.close();
    assertFalse(MountTable.isMounted(p));
  }
}
