package io.s3cache.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.s3cache.config.SettingKey;
import io.s3cache.mount.BucketMount;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cache directory on a small filesystem (a 64 MiB tmpfs) that another process fills up: reads
 * keep being served byte-exact from S3, nothing crashes, the disk cap holds, and the free-space
 * floor is restored by evicting our own blocks once the other writer stops.
 */
@Timeout(240)
class SmallCacheFilesystemTest {
  private static final long MIB = 1 << 20;
  private static final int FILES = 24;
  private static final int SIZE = 4 << 20;
  private static final long CAP = 32 * MIB;
  private static final long FLOOR = 8 * MIB;

  @TempDir Path dir;
  private Path small;
  private MountFixture fixture;

  @BeforeEach
  void mountTmpfs() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")), "mounting a tmpfs needs root");
    small = Files.createDirectories(dir.resolve("small"));
    Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", small.toString())
        .redirectErrorStream(true).start();
    assertEquals(0, p.waitFor(), new String(p.getInputStream().readAllBytes()));
  }

  @AfterEach
  void cleanUp() throws Exception {
    try {
      if (fixture != null) {
        fixture.close();
      }
    } finally {
      if (small != null) {
        new ProcessBuilder("umount", "-l", small.toString()).start().waitFor();
      }
    }
  }

  private static byte[] content(String name) {
    return io.s3cache.testing.data.SampleDataset.content(SIZE, name.hashCode());
  }

  private static byte[] sha(byte[] b) throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(b);
  }

  private void readAll(Path root, String set) throws Exception {
    for (int i = 0; i < FILES; i++) {
      String name = set + i;
      assertArrayEquals(sha(content(name)), sha(Files.readAllBytes(root.resolve(name))), name);
    }
  }

  @Test
  void readsSurviveAFullCacheDiskAndTheCapAndFloorHold() throws Exception {
    fixture = new MountFixture(dir);
    fixture.s3().createBucket(b -> b.bucket("small"));
    for (String set : new String[] {"f", "g"}) {
      for (int i = 0; i < FILES; i++) {
        fixture.put("small", set + i, content(set + i)); // 96 MiB a set: more than cap and disk
      }
    }
    Path cacheDir = small.resolve("cache");
    BucketMount mount = fixture.mount("s3://small", "small", Map.of(
        SettingKey.CACHE_DIR, cacheDir.toString(), SettingKey.DISK_CACHE, "32M",
        SettingKey.DISK_MIN_FREE, "8M", SettingKey.RAM_CACHE, "8M", SettingKey.BLOCK_SIZE, "1M",
        SettingKey.READ_AHEAD, "4M", SettingKey.PREFETCH_MEMORY, "8M"));
    FileStore store = Files.getFileStore(small);

    // Watch the cache directory's size and the free space while reading.
    AtomicLong maxUsed = new AtomicLong();
    AtomicLong minFree = new AtomicLong(Long.MAX_VALUE);
    AtomicBoolean watching = new AtomicBoolean(true);
    Thread watcher = new Thread(() -> {
      while (watching.get()) {
        try {
          maxUsed.accumulateAndGet(DiskUsage.of(cacheDir), Math::max);
          minFree.accumulateAndGet(store.getUsableSpace(), Math::min);
          Thread.sleep(5);
        } catch (InterruptedException e) {
          return;
        } catch (Exception e) {
          // a file vanished between listing and stat: try again
        }
      }
    });
    watcher.start();
    try {
      readAll(mount.mountPoint(), "f");
    } finally {
      watching.set(false);
      watcher.join();
    }
    assertTrue(maxUsed.get() <= CAP, "cache dir reached " + maxUsed.get() + " bytes, cap " + CAP);
    assertTrue(minFree.get() >= FLOOR, "free space fell to " + minFree.get() + ", floor " + FLOOR);

    // Another process fills the filesystem to the last byte.
    Path hog = small.resolve("hog.bin");
    long written = 0;
    try (OutputStream out = Files.newOutputStream(hog)) {
      byte[] chunk = new byte[1 << 20];
      while (true) {
        out.write(chunk);
        written += chunk.length;
      }
    } catch (IOException full) {
      assertTrue(full.getMessage() == null || full.getMessage().contains("space")
          || full.getMessage().contains("No space"), full.toString());
    }
    assertTrue(store.getUsableSpace() < MIB, "the filesystem is full");

    // Reads of other files go on, byte-exact (the kernel's page cache holds the first set, so a
    // second set makes the daemon fetch and try to write); the tier gives its own space back.
    readAll(mount.mountPoint(), "g");
    long freeAfter = store.getUsableSpace();
    assertTrue(freeAfter >= FLOOR, "floor restored by evicting our blocks: " + freeAfter + " free");
    assertTrue(DiskUsage.of(cacheDir) <= CAP);
    assertTrue(written > 0);
    // After the ENOSPC the tier reports what it occupies (it over-reported by the index's 4 MiB
    // reserve before). du counts no blocks for tmpfs directories, which the gauge charges (1 MiB).
    long onDisk = DiskUsage.of(cacheDir.resolve("blocks")) + DiskUsage.of(cacheDir.resolve("index"));
    long reported = fixture.diskBytes(0);
    assertTrue(Math.abs(reported - onDisk) <= 3 * MIB / 2, reported + " bytes reported, " + onDisk + " on disk");
  }
}
