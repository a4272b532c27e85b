package io.s3cache.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.s3cache.control.ControlClient;
import io.s3cache.control.MountRequest;
import io.s3cache.control.PreloadProgress;
import io.s3cache.control.PreloadRequest;
import io.s3cache.control.StatsSnapshot;
import io.s3cache.fuse.MountTable;
import java.io.File;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A daemon process killed with SIGKILL in the middle of a preload, block files damaged while it is
 * down, then a restart: the index is repaired, the preload resumes and fetches only what is
 * missing, damaged blocks are caught and re-fetched (never served), and a clean restart after that
 * reads the whole dataset with zero GETs.
 */
@Timeout(300)
class CrashRecoveryTest {
  private static final Path S3CACHE = Path.of("..", "bin", "s3cache").toAbsolutePath().normalize();
  private static final int FILES = 300;
  private static final int SIZE = 100 << 10;

  @TempDir Path dir;
  private MountFixture fx;
  private Process daemon;
  private Path socket;
  private Path cacheDir;
  private Path mnt;

  @BeforeEach
  void start() throws Exception {
    fx = new MountFixture(dir);
    fx.server.createBucket("crash");
    var pool = java.util.concurrent.Executors.newFixedThreadPool(8);
    try {
      List<CompletableFuture<Void>> puts = new ArrayList<>();
      for (int i = 0; i < FILES; i++) {
        int n = i;
        puts.add(CompletableFuture.runAsync(
            () -> fx.put("crash", key(n), io.s3cache.testing.data.SampleDataset.content(SIZE, n)), pool));
      }
      puts.forEach(CompletableFuture::join);
    } finally {
      pool.shutdownNow();
    }
    socket = dir.resolve("d.sock");
    cacheDir = dir.resolve("cache");
    mnt = Files.createDirectories(dir.resolve("mnt"));
  }

  @AfterEach
  void stop() throws Exception {
    try {
      if (daemon != null && daemon.isAlive()) {
        try (ControlClient c = ControlClient.connect(socket)) {
          c.shutdown();
        } catch (Exception e) {
          // fall through to the kill below
        }
        if (!daemon.waitFor(30, TimeUnit.SECONDS)) {
          daemon.destroyForcibly().waitFor();
        }
      }
    } finally {
      unmountDead();
      fx.close();
    }
  }

  private static String key(int i) {
    return String.format("set/f%04d.bin", i);
  }

  private void startDaemon() throws Exception {
    ProcessBuilder pb = new ProcessBuilder(S3CACHE.toString(), "daemon", "--socket", socket.toString(),
        "-o", "cache_dir=" + cacheDir + ",disk_cache=1G,ram_cache=64M,log_file=" + dir.resolve("daemon.log"));
    pb.environment().put("AWS_ACCESS_KEY_ID", fx.server.accessKey());
    pb.environment().put("AWS_SECRET_ACCESS_KEY", fx.server.secretKey());
    pb.environment().put("AWS_EC2_METADATA_DISABLED", "true");
    daemon = pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("daemon.out").toFile()))
        .redirectInput(new File("/dev/null")).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!ControlClient.isAlive(socket)) {
      assertTrue(daemon.isAlive(), "daemon exited: " + Files.readString(dir.resolve("daemon.out")));
      assertTrue(System.nanoTime() < deadline, "daemon did not answer within 60 s");
      Thread.sleep(50);
    }
    try (ControlClient c = ControlClient.connect(socket)) {
      c.mount(new MountRequest("s3://crash", mnt.toString(),
          Map.of("endpoint", fx.server.endpoint().toString(), "path_style", "true", "metadata_ttl", "1h"), List.of()));
    }
  }

  private void unmountDead() throws Exception {
    if (MountTable.isMounted(mnt)) {
      new ProcessBuilder("fusermount", "-uz", mnt.toString()).start().waitFor();
    }
  }

  private List<Path> blockFiles() throws Exception {
    Path blocks = cacheDir.resolve("blocks");
    if (!Files.isDirectory(blocks)) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(blocks)) {
      return s.filter(p -> p.toString().endsWith(".blk")).sorted().toList();
    }
  }

  private static PreloadProgress preload(ControlClient c, Path path) throws Exception {
    return c.preload(new PreloadRequest(List.of(path.toString()), 1, null, null, false), p -> {});
  }

  private static byte[] sha(byte[] b) throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(b);
  }

  private void readAllAndVerify() throws Exception {
    for (int i = 0; i < FILES; i++) {
      byte[] expected = io.s3cache.testing.data.SampleDataset.content(SIZE, i);
      assertArrayEquals(sha(expected), sha(Files.readAllBytes(mnt.resolve(key(i)))), key(i));
    }
  }

  @Test
  void killedMidPreloadThenDamagedThenRestartedNeverServesBadBytes() throws Exception {
    startDaemon();
    CompletableFuture<Object> firstPreload = CompletableFuture.supplyAsync(() -> {
      try (ControlClient c = ControlClient.connect(socket)) {
        return preload(c, mnt.resolve("set"));
      } catch (Exception e) {
        return e;
      }
    });
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (blockFiles().size() < FILES / 6) {
      assertTrue(System.nanoTime() < deadline, "preload made no progress");
      Thread.sleep(5);
    }
    daemon.destroyForcibly(); // SIGKILL, mid-preload
    assertTrue(daemon.waitFor(30, TimeUnit.SECONDS));
    Object outcome = firstPreload.get(60, TimeUnit.SECONDS);
    assertTrue(outcome instanceof Exception, "the preload was cut off by the kill, not finished: " + outcome);
    unmountDead();

    List<Path> files = blockFiles();
    int onDisk = files.size();
    assertTrue(onDisk > 0 && onDisk < FILES, "killed midway: " + onDisk + " of " + FILES + " blocks on disk");
    // Damage three blocks while the daemon is down: flipped payload bits and a truncation.
    for (Path f : List.of(files.get(0), files.get(onDisk / 2))) {
      try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
        ByteBuffer b = ByteBuffer.allocate(1);
        ch.read(b, ch.size() - 1);
        b.put(0, (byte) (b.get(0) ^ 0xff));
        ch.write(b.flip(), ch.size() - 1);
      }
    }
    try (FileChannel ch = FileChannel.open(files.get(onDisk - 1), StandardOpenOption.WRITE)) {
      ch.truncate(ch.size() - 4096);
    }

    startDaemon();
    try (ControlClient c = ControlClient.connect(socket)) {
      PreloadProgress resumed = preload(c, mnt.resolve("set"));
      assertEquals(List.of(), resumed.failed(), resumed.toString());
      long total = (long) FILES * SIZE;
      assertTrue(resumed.bytesFetched() > 0 && resumed.bytesFetched() <= total - (long) (onDisk - 3) * SIZE,
          "resumed: fetched " + resumed.bytesFetched() + " bytes with " + onDisk + " blocks already on disk");

      readAllAndVerify(); // damaged blocks are caught here and re-fetched
      String metrics = c.metricsText();
      assertTrue(metrics.contains("cache_disk_corrupt 3.0"), "three damaged blocks counted:\n"
          + metrics.lines().filter(l -> l.startsWith("cache_disk")).toList());
      c.shutdown();
    }
    assertTrue(daemon.waitFor(60, TimeUnit.SECONDS), "clean shutdown");

    // A clean restart: the index and the files agree, every block is there and sound.
    startDaemon();
    try (ControlClient c = ControlClient.connect(socket)) {
      readAllAndVerify();
      StatsSnapshot s = c.stats(null);
      assertEquals(0, s.s3Gets(), "the whole dataset from the disk tier after a restart");
      assertTrue(c.metricsText().contains("cache_disk_corrupt 0.0"));
    }
    Path logFile = dir.resolve("daemon.log");
    String log = Files.readString(dir.resolve("daemon.out"))
        + (Files.exists(logFile) ? Files.readString(logFile) : "");
    assertTrue(log.contains("repaired:"), "the start-up repair reports what it did");
  }
}
