package io.s3cache.bench.cli;

import io.s3cache.bench.EndToEndBenchmark;
import io.s3cache.bench.FaultBenchmark;
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

  @Option(names = "--faults", paramLabel = "RATE", description = "Instead: cold reads through s3cache with no faults "
      + "and with RATE (e.g. 0.1) of S3 requests faulted, through a fault-injecting proxy on loopback")
  Double faults;

  @Option(names = "--rounds", defaultValue = "2", description = "With --faults: rounds of both passes, best kept (default ${DEFAULT-VALUE})")
  int rounds;

  @Override
  public Integer call() throws Exception {
    List<String> chosen = checkedPeers(peers);
    boolean existed = java.nio.file.Files.exists(workDir);
    if (faults != null && !(faults >= 0 && faults <= 1)) {
      throw new ConfigException("--faults must be a rate from 0 to 1, got " + faults);
    }
    if (rounds < 1) {
      throw new ConfigException("--rounds must be at least 1, got " + rounds);
    }
    try {
      if (faults != null) {
        new FaultBenchmark(new FaultBenchmark.Options(workDir, ByteSize.parse("--size", size), smallFiles, faults,
            rounds, "2s", 6), System.out).run();
        return 0;
      }
      new EndToEndBenchmark(new EndToEndBenchmark.Options(workDir, ByteSize.parse("--size", size), smallFiles, chosen,
          ramCache, ByteSize.parse("--preload-size", preloadSize), parallel), System.out).run();
    } finally {
      if (!keep && !existed) {
        DemoCommand.deleteTree(workDir);
      }
    }
    return 0;
  }

  /** The peers named by {@code --peers} ("none": none), each checked to be s3fs or rclone. */
  static List<String> checkedPeers(List<String> peers) {
    List<String> chosen = peers.contains("none") ? List.of() : peers;
    for (String p : chosen) {
      if (!p.equals("s3fs") && !p.equals("rclone")) {
        throw new ConfigException("unknown peer '" + p + "': expected s3fs, rclone or none");
      }
    }
    return chosen;
  }
}
