package io.s3cache.cli;

import io.s3cache.bench.EndToEndBenchmark;
import io.s3cache.config.ByteSize;
import io.s3cache.config.ConfigException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code s3cache bench}: the end-to-end benchmark against local disk and peer tools (root only). */
@Command(mixinStandardHelpOptions = true, name = "bench", description = "Measure s3cache against local disk and peer tools on the same bytes (needs root).")
final class BenchCommand implements Callable<Integer> {

  @Option(names = "--work-dir", defaultValue = "/var/tmp/s3cache-bench", description = "Scratch space (default ${DEFAULT-VALUE})")
  Path workDir;

  @Option(names = "--size", defaultValue = "1G", description = "Size of the large object (default ${DEFAULT-VALUE})")
  String size;

  @Option(names = "--small-files", defaultValue = "3000", description = "Number of 20-180 KiB files (default ${DEFAULT-VALUE})")
  int smallFiles;

  @Option(names = "--peers", split = ",", defaultValue = "s3fs,rclone", description = "Peer tools to measure (default ${DEFAULT-VALUE}; 'none' for none)")
  List<String> peers;

  @Option(names = "--ram-cache", defaultValue = "2G", description = "s3cache RAM tier for the run (default ${DEFAULT-VALUE})")
  String ramCache;

  @Option(names = "--preload-size", defaultValue = "2G", description = "Bucket size for the preload measurement (default ${DEFAULT-VALUE})")
  String preloadSize;

  @Option(names = "--parallel", defaultValue = "32", description = "Preload and rclone copy parallelism (default ${DEFAULT-VALUE})")
  int parallel;

  @Option(names = "--keep", description = "Keep the work dir (about 4 GiB) afterwards")
  boolean keep;

  @Override
  public Integer call() throws Exception {
    List<String> chosen = peers.contains("none") ? List.of() : peers;
    for (String p : chosen) {
      if (!p.equals("s3fs") && !p.equals("rclone")) {
        throw new ConfigException("unknown peer '" + p + "': expected s3fs, rclone or none");
      }
    }
    boolean existed = java.nio.file.Files.exists(workDir);
    try {
      new EndToEndBenchmark(new EndToEndBenchmark.Options(workDir, ByteSize.parse("--size", size), smallFiles, chosen,
          ramCache, ByteSize.parse("--preload-size", preloadSize), parallel), System.out).run();
    } finally {
      if (!keep && !existed) {
        DemoCommand.deleteTree(workDir);
      }
    }
    return 0;
  }
}
