package io.s3cache.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.s3cache.control.ControlClient;
import io.s3cache.control.StatsSnapshot;
import io.s3cache.embedded.EmbeddedS3Server;
import io.s3cache.testing.data.PageCache;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;

/**
 * 64 threads of random reads over 2,000 files through a mount of a daemon process
 * ({@code bin/s3cache daemon}), every byte checked, bounded in time; prints the daemon's resident
 * memory against its RAM tier and the overhead CONFIGURATION.md ("JVM memory") documents.
 */
class StressTest {

  private static final int FILES = 2000;
  private static final int THREADS = 64;
  private static final long RUN_NANOS = TimeUnit.SECONDS.toNanos(25);
  private static final long RAM_CACHE_MIB = 32;
  /**
   * The daemon's memory beyond ram_cache as CONFIGURATION.md ("JVM memory") sizes it: the heap
   * (-Xmx256m) + about 150 MiB for the JVM itself (metaspace, code, thread stacks, Netty) + blocks
   * in flight (max_fetches 32 x block_size 256 KiB) + the disk-write backlog (at most 256 MiB).
   */
  private static final long OVERHEAD_MIB = 256 + 150 + 32 / 4 + 256;

  @TempDir Path dir;

  @Test
  void sixtyFourThreadsOfRandomReadsOverTwoThousandFilesAreByteExact() throws Exception {
    try (EmbeddedS3Server server = EmbeddedS3Server.start(Files.createDirectories(dir.resolve("s3")))) {
      server.createBucket("stress");
      long[] sizes = upload(server);
      Map<String, String> daemonSettings = Map.of(
          "endpoint", server.endpoint().toString(), "path_style", "true",
          "cache_dir", dir.resolve("cache").toString(), "ram_cache", RAM_CACHE_MIB + "M", "disk_cache", "1G",
          "block_size", "256K", "max_fetches", "32", "prefetch_memory", "16M");
      try (DaemonProcess daemon = DaemonProcess.start(dir, server, daemonSettings, "-Xmx256m")) {
        Path mnt = daemon.mount("s3://stress", dir.resolve("mnt"), Map.of());
        AtomicLong reads = new AtomicLong();
        AtomicLong bytes = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        long end = System.nanoTime() + RUN_NANOS;
        long halfway = System.nanoTime() + RUN_NANOS / 2;
        try {
          List<Future<?>> workers = new ArrayList<>();
          for (int t = 0; t < THREADS; t++) {
            long seed = t;
            workers.add(pool.submit(() -> {
              SplittableRandom random = new SplittableRandom(seed);
              ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
              while (System.nanoTime() < end) {
                int f = random.nextInt(FILES);
                long offset = random.nextLong(sizes[f]);
                int length = 1 + random.nextInt(buf.capacity());
                try (FileChannel ch = FileChannel.open(mnt.resolve(name(f)))) {
                  assertEquals(sizes[f], ch.size(), name(f));
                  int n = 0;
                  buf.clear().limit(length);
                  for (int r; buf.hasRemaining() && (r = ch.read(buf, offset + n)) > 0; ) {
                    n += r;
                  }
                  assertEquals(Math.min(length, sizes[f] - offset), n, name(f) + " at " + offset);
                  long bad = PositionalContent.firstMismatch(f, offset, buf.array(), n);
                  assertEquals(-1, bad, name(f) + ": wrong byte at " + bad);
                  reads.incrementAndGet();
                  bytes.addAndGet(n);
                }
              }
              return null;
            }));
          }
          // Once, halfway: drop the kernel's page cache so that later reads reach the daemon again.
          Thread.sleep(Math.max(0, (halfway - System.nanoTime()) / 1_000_000));
          PageCache.drop();
          for (Future<?> w : workers) {
            w.get();
          }
        } finally {
          pool.shutdownNow();
        }
        StatsSnapshot stats;
        try (ControlClient c = ControlClient.connect(daemon.socket)) {
          stats = c.stats(null);
        }
        long rss = daemon.statusKib("VmRSS") / 1024;
        long peak = daemon.statusKib("VmHWM") / 1024;
        System.out.printf("stress: %d reads (%d MiB) by %d threads over %d files; daemon RAM tier %d of %d MiB, "
                + "%d GETs, %d MiB from S3; daemon RSS %d MiB, peak %d MiB, against ram_cache %d MiB + overhead %d MiB%n",
            reads.get(), bytes.get() >> 20, THREADS, FILES, stats.ramBytes() >> 20, stats.ramCapBytes() >> 20,
            stats.s3Gets(), stats.bytesFromS3() >> 20, rss, peak, RAM_CACHE_MIB, OVERHEAD_MIB);
        assertTrue(reads.get() >= THREADS, "every thread read something: " + reads.get());
        assertTrue(stats.s3Gets() > 0, "reads reached S3 through the daemon");
        assertTrue(peak <= RAM_CACHE_MIB + OVERHEAD_MIB,
            "daemon peak RSS " + peak + " MiB over ram_cache + documented overhead " + (RAM_CACHE_MIB + OVERHEAD_MIB));
      }
    }
  }

  private static String name(int f) {
    return String.format("d%02d/f%04d.bin", f % 20, f);
  }

  /** 2,000 objects of 1 byte to 128 KiB over 20 directories, plus some of a few blocks. */
  private static long[] upload(EmbeddedS3Server server) throws Exception {
    long[] sizes = new long[FILES];
    SplittableRandom random = new SplittableRandom(99);
    for (int f = 0; f < FILES; f++) {
      sizes[f] = f % 100 == 0 ? 1 + random.nextInt(2 << 20) : 1 + random.nextInt(128 * 1024);
    }
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> puts = new ArrayList<>();
      for (int f = 0; f < FILES; f++) {
        int file = f;
        puts.add(pool.submit(() -> server.client().putObject(b -> b.bucket("stress").key(name(file)),
            RequestBody.fromBytes(PositionalContent.bytes(file, (int) sizes[file])))));
      }
      for (Future<?> p : puts) {
        p.get();
      }
    } finally {
      pool.shutdownNow();
    }
    return sizes;
  }
}
