package io.s3cache.bench.cli;

import io.s3cache.bench.FaultBenchmark;
import io.s3cache.bench.UserBenchmark;
import io.s3cache.config.ByteSize;
import io.s3cache.config.ConfigException;
import io.s3cache.config.DurationValue;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
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

  @Option(names = "--only", split = ",", defaultValue = "cold,warm,small,random,fit,plan,epoch",
      description = "Row groups to run: cold, warm, small, random, fit, plan, epoch (default all); floor: only "
          + "the FUSE floor (floorfs, measured with warm and fit too) against local disk")
  List<String> only;

  @Option(names = "--ram-cache", defaultValue = "256M", description = "s3cache RAM tier of the headline rows, "
      + "well below --size (default ${DEFAULT-VALUE})")
  String ramCache;

  @Option(names = "--fit-ram-cache", defaultValue = "2G", description = "RAM tier of the fits-in-RAM rows, above --size "
      + "(default ${DEFAULT-VALUE})")
  String fitRamCache;

  @Option(names = "--disk-cache", defaultValue = "8G", description = "s3cache disk tier (default ${DEFAULT-VALUE})")
  String diskCache;

  @Option(names = "--plan-objects", defaultValue = "2000", description = "100 KiB objects preloaded, and as many "
      + "prefetched by a plan (default ${DEFAULT-VALUE})")
  int planObjects;

  @Option(names = "--plan-passes", defaultValue = "2", description = "Passes of the preload and plan rows in one "
      + "daemon, its cache of them evicted in between; the first is a fresh daemon's (default ${DEFAULT-VALUE})")
  int planPasses;

  @Option(names = "--epoch-files", defaultValue = "10000", description = "Small files read in two epochs "
      + "(default ${DEFAULT-VALUE})")
  int epochFiles;

  @Option(names = "--latency", defaultValue = "20", description = "Milliseconds the proxy adds to each request of "
      + "the plan and epoch rows (default ${DEFAULT-VALUE})")
  int latency;

  @Option(names = "--epoch-ttl", defaultValue = "5s", description = "metadata_ttl of the epoch rows, shorter than "
      + "epoch 1 (default ${DEFAULT-VALUE})")
  String epochTtl;

  @Option(names = "--fio-seconds", defaultValue = "15", description = "Runtime of each fio job (default ${DEFAULT-VALUE})")
  int fioSeconds;

  @Option(names = "--repeat", defaultValue = "3", description = "Runs of each repeatable state, best kept "
      + "(default ${DEFAULT-VALUE})")
  int repeat;

  @Option(names = "--profile", paramLabel = "DIR", description = "Also read the big file cold and warm from disk "
      + "through daemons under JFR, keep the recordings in DIR and print CPU by stage (with a big-file group); "
      + "the daemon of the plan rows records to DIR/plan.jfr")
  Path profile;

  @Option(names = "--daemon-java-opts", paramLabel = "OPTS", description = "JVM options of every s3cache daemon "
      + "the benchmark starts (its S3CACHE_JAVA_OPTS), e.g. -XX:TieredStopAtLevel=1")
  String daemonJavaOpts;

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
    positive("--plan-objects", planObjects);
    positive("--plan-passes", planPasses);
    positive("--epoch-files", epochFiles);
    positive("--fio-seconds", fioSeconds);
    positive("--repeat", repeat);
    if (latency < 0) {
      throw new ConfigException("--latency must be 0 or more milliseconds, got " + latency);
    }
    if (DurationValue.parse("--epoch-ttl", epochTtl).compareTo(java.time.Duration.ofHours(1)) > 0) {
      throw new ConfigException("--epoch-ttl must be at most 1h (epoch 1 has to outlast it), got " + epochTtl);
    }
    if (rounds < 1) {
      throw new ConfigException("--rounds must be at least 1, got " + rounds);
    }
    UserBenchmark.Options options = new UserBenchmark.Options(workDir, ByteSize.parse("--size", size), smallFiles,
        chosen, checkedGroups(only), checkedSize("--ram-cache", ramCache), checkedSize("--fit-ram-cache", fitRamCache),
        checkedSize("--disk-cache", diskCache), planObjects, planPasses, epochFiles, latency, epochTtl, fioSeconds,
        repeat, profile,
        daemonJavaOpts);
    try {
      if (faults != null) {
        new FaultBenchmark(new FaultBenchmark.Options(workDir, ByteSize.parse("--size", size), smallFiles, faults,
            rounds, "2s", 6), System.out).run();
        return 0;
      }
      new UserBenchmark(options, System.out).run();
    } finally {
      if (!keep && !existed) {
        DemoCommand.deleteTree(workDir);
      }
    }
    return 0;
  }

  private static void positive(String option, int value) {
    if (value < 1) {
      throw new ConfigException(option + " must be at least 1, got " + value);
    }
  }

  private static String checkedSize(String option, String value) {
    ByteSize.parse(option, value);
    return value;
  }

  /** The row groups named by {@code --only}, each checked. */
  static Set<String> checkedGroups(List<String> groups) {
    for (String g : groups) {
      if (!UserBenchmark.GROUPS.contains(g)) {
        throw new ConfigException("unknown row group '" + g + "': expected some of cold, warm, small, random, fit, plan, epoch, floor");
      }
    }
    return new LinkedHashSet<>(groups);
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
