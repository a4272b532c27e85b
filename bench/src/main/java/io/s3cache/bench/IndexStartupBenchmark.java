package io.s3cache.bench;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.cache.BlockKey;
import io.s3cache.cache.CacheConfig;
import io.s3cache.cache.CacheDatabase;
import io.s3cache.cache.TieredBlockCache;
import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import io.s3cache.embedded.EmbeddedS3Server;
import io.s3cache.mount.BucketMount;
import io.s3cache.mount.MountSpec;
import io.s3cache.testing.data.PageCache;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;

/**
 * How long a mount takes to come up over a disk cache that already holds many blocks: with the
 * RocksDB index (the normal restart), without it (the index lost: every block file's header is
 * read and the index rebuilt), and over an empty cache directory, in one run. Prints one table.
 *
 * <p>The blocks are small (1 KiB objects, one block each) so that 100,000 of them take about 400
 * MiB on disk: start-up cost depends on the number of blocks, not their size.
 */
public final class IndexStartupBenchmark {

  /** @param workDir scratch directory, deleted afterwards unless {@code keep} */
  public record Options(Path workDir, int blocks, int runs, boolean keep) {}

  private static final int PAYLOAD = 1024;
  private final Options options;

  public IndexStartupBenchmark(Options options) {
    this.options = options;
  }

  public void run() throws Exception {
    Path work = options.workDir();
    Files.createDirectories(work);
    Path cacheDir = work.resolve("cache");
    try (EmbeddedS3Server server = EmbeddedS3Server.start(Files.createDirectories(work.resolve("s3")))) {
      server.createBucket("idx");
      long fillStart = System.nanoTime();
      fill(cacheDir);
      double fillSeconds = (System.nanoTime() - fillStart) / 1e9;
      System.out.printf("wrote %,d blocks into %s in %.1f s (%.0f blocks/s), index %s%n", options.blocks(),
          cacheDir, fillSeconds, options.blocks() / fillSeconds, sizeOf(cacheDir.resolve("index")));

      List<String> rows = new ArrayList<>();
      rows.add(row("warm index (a restart)", measure(server, cacheDir, options.runs(), false)));
      rows.add(row("index lost: header scan + rebuild", measure(server, cacheDir, 1, true)));
      rows.add(row("warm index again (rebuilt)", measure(server, cacheDir, options.runs(), false)));
      BenchData.deleteTree(cacheDir);
      rows.add(row("empty cache directory", measure(server, cacheDir, options.runs(), false)));
      System.out.println();
      System.out.printf("%-38s %12s %12s%n", "cache directory at mount time", "mount ms", "blocks");
      rows.forEach(System.out::println);
    } finally {
      if (!options.keep()) {
        BenchData.deleteTree(work);
      }
    }
  }

  private record Sample(long millis, long blocks) {}

  private static String row(String what, Sample s) {
    return String.format("%-38s %12d %12d", what, s.millis(), s.blocks());
  }

  /** Writes the blocks through the cache's own code path (block file, then index record). */
  private void fill(Path cacheDir) throws IOException {
    CacheConfig config = new CacheConfig(64 << 10, 0, cacheDir, 4L << 30, 64, 256L << 20, false);
    ExecutorService writer = Executors.newSingleThreadExecutor();
    try (CacheDatabase db = CacheDatabase.open(cacheDir.resolve("index"));
        TieredBlockCache cache = new TieredBlockCache(config, (key, offset, dst) -> {
          while (dst.hasRemaining()) {
            dst.put((byte) (key.key().hashCode() + dst.position()));
          }
        }, new MetricRegistry(), writer, db)) {
      for (int i = 0; i < options.blocks(); i++) {
        cache.loadToDisk(new BlockKey("idx", String.format("set/%08d.bin", i), "\"e" + i + "\"", 0), PAYLOAD);
      }
    } finally {
      writer.shutdown();
    }
  }

  /** Best of {@code runs} mounts: page cache dropped, mount, note the time and blocks, unmount. */
  private Sample measure(EmbeddedS3Server server, Path cacheDir, int runs, boolean dropIndex) throws Exception {
    Sample best = null;
    Path mnt = Files.createDirectories(options.workDir().resolve("mnt"));
    for (int r = 0; r < runs; r++) {
      if (dropIndex) {
        BenchData.deleteTree(cacheDir.resolve("index"));
      }
      PageCache.drop();
      Settings settings = server.mountSettings(cacheDir)
          .set(SettingKey.BLOCK_SIZE, "64K")
          .set(SettingKey.DISK_CACHE, "4G")
          .set(SettingKey.RAM_CACHE, "64M");
      long start = System.nanoTime();
      try (BucketMount mount = BucketMount.open(MountSpec.from("s3://idx", mnt, settings, List.of()),
          new MetricRegistry(), server.credentials())) {
        long millis = (System.nanoTime() - start) / 1_000_000;
        Sample s = new Sample(millis, mount.tieredCache().stats().diskBlocks());
        if (best == null || s.millis() < best.millis()) {
          best = s;
        }
      }
    }
    return best;
  }

  private static String sizeOf(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      long bytes = files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
      return String.format("%.1f MiB", bytes / 1048576.0);
    }
  }


}
