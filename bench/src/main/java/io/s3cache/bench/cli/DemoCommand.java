package io.s3cache.bench.cli;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.cache.CacheStats;
import io.s3cache.config.ByteSize;
import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import io.s3cache.embedded.EmbeddedS3Server;
import io.s3cache.metrics.MetricNames;
import io.s3cache.mount.BucketMount;
import io.s3cache.mount.MountSpec;
import io.s3cache.testing.data.PageCache;
import io.s3cache.testing.data.SampleDataset;
import io.s3cache.testing.data.TreeReader;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code s3cache demo}: an S3 server inside this JVM, a generated dataset in it, mounted, read cold
 * and warm, verified, unmounted. Needs nothing but FUSE.
 */
@Command(mixinStandardHelpOptions = true, name = "demo", description = "Mount a generated dataset from an embedded S3 server and read it cold and warm.")
final class DemoCommand implements Callable<Integer> {

  @Option(names = "--work-dir", description = "Where the server's data, the cache and the mount point go (default: a new temp dir)")
  Path workDir;

  @Option(names = "--large-files", defaultValue = "4", description = "Large files (default ${DEFAULT-VALUE})")
  int largeFiles;

  @Option(names = "--large-size", defaultValue = "64M", description = "Size of each large file (default ${DEFAULT-VALUE})")
  String largeSize;

  @Option(names = "--small-files", defaultValue = "3000", description = "Small files of 20-180 KiB (default ${DEFAULT-VALUE})")
  int smallFiles;

  @Option(names = "--readers", defaultValue = "8", description = "Parallel readers (default ${DEFAULT-VALUE})")
  int readers;

  @Option(names = "--keep", description = "Keep the work dir afterwards")
  boolean keep;

  @Override
  public Integer call() throws Exception {
    PrintStream out = System.out;
    // The mount runs in this process and writes cached bytes and the index: owner-only, as the
    // daemon's (without it RocksDB's files came out group-readable and the cache opened with a WARN).
    io.s3cache.files.PrivateFiles.restrictUmask();
    boolean ownDir = workDir == null;
    Path dir = ownDir ? Files.createTempDirectory("s3cache-demo-") : Files.createDirectories(workDir);
    Path mnt = Files.createDirectories(dir.resolve("mnt"));
    MetricRegistry metrics = new MetricRegistry();
    try (EmbeddedS3Server server = EmbeddedS3Server.start(Files.createDirectories(dir.resolve("s3")))) {
      server.createBucket("demo");
      out.printf("embedded S3 server at %s, bucket 'demo'%n", server.endpoint());
      long t0 = System.nanoTime();
      SampleDataset data = SampleDataset.upload(server.client(), "demo", "", largeFiles,
          ByteSize.parse("--large-size", largeSize), smallFiles, 42);
      out.printf("uploaded %d objects, %s, in %.1f s%n", data.items().size(), ByteSize.format(data.totalBytes()),
          (System.nanoTime() - t0) / 1e9);

      Settings settings = server.mountSettings(dir.resolve("cache"))
          .set(SettingKey.RAM_CACHE, "1G")
          .set(SettingKey.DISK_CACHE, "2G");
      MountSpec spec = MountSpec.from("s3://demo", mnt, settings, List.of());
      try (BucketMount mount = BucketMount.open(spec, metrics, server.credentials())) {
        out.printf("mounted s3://demo at %s%n", mnt);
        List<Path> files = TreeReader.files(mnt);
        TreeReader.Pass cold = TreeReader.readAll(files, readers);
        long coldGets = metrics.timer(MetricNames.S3_GET).getCount();
        report(out, "cold read", cold, coldGets);
        boolean dropped = PageCache.drop();
        TreeReader.Pass warm = TreeReader.readAll(files, readers);
        report(out, "warm read", warm, metrics.timer(MetricNames.S3_GET).getCount() - coldGets);
        if (!dropped) {
          out.println("  (page cache not dropped: not root; the warm read may come from the kernel's cache)");
        }
        mount.tieredCache().awaitDiskWrites(); // so the disk figure below is what is really kept
        CacheStats stats = mount.tieredCache().stats();
        out.printf("cache hits: RAM %d (misses %d), disk %d (misses %d); %d blocks fetched from S3; "
            + "RAM tier holds %s, disk tier %s of %s%n", stats.ramHits(), stats.ramMisses(), stats.diskHits(),
            stats.diskMisses(), stats.fetches(), ByteSize.format(stats.ramBytes()), ByteSize.format(stats.diskBytes()),
            ByteSize.format(stats.diskCapBytes()));
        out.printf(Locale.ROOT, "warm/cold speed-up: %.1fx%n", warm.mibPerSecond() / cold.mibPerSecond());
        verify(out, mnt, data);
        mount.unmount();
        out.printf("unmounted %s%n", mnt);
      }
    } finally {
      if (ownDir && !keep) {
        deleteTree(dir);
      }
    }
    return 0;
  }

  private static void report(PrintStream out, String what, TreeReader.Pass pass, long gets) {
    out.printf(Locale.ROOT, "%s: %d files, %s in %.2f s = %.0f MiB/s, %.0f files/s, %d S3 GETs%n", what,
        pass.files(), ByteSize.format(pass.bytes()), pass.nanos() / 1e9, pass.mibPerSecond(), pass.filesPerSecond(),
        gets);
  }

  private static void verify(PrintStream out, Path mnt, SampleDataset data) throws Exception {
    int checked = 0;
    for (SampleDataset.Item item : data.items()) {
      String actual = TreeReader.sha256(mnt.resolve(item.key()));
      if (!actual.equals(item.sha256())) {
        throw new IllegalStateException("content of " + item.key() + " differs from what was uploaded");
      }
      checked++;
    }
    out.printf("verified %d files byte-exact (SHA-256)%n", checked);
  }

  /** Deletes a scratch directory tree (demo and bench work dirs); complains once if it cannot. */
  static void deleteTree(Path dir) {
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (Exception e) {
      System.err.println("s3cache: could not delete " + dir + ": " + e.getMessage());
    }
  }
}
