package io.s3cache.bench.cli;

import io.s3cache.bench.TorchBenchmark;
import io.s3cache.config.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code s3cache bench-torch}: PyTorch DataLoader epochs on local disk, s3cache with and without plans, peers, DDP. */
@Command(mixinStandardHelpOptions = true, name = "bench-torch",
    description = "Measure PyTorch DataLoader epochs over an image folder: local disk, s3cache cold without and "
        + "with EpochPlanSampler, epoch 2, s3fs/rclone, DDP with 2 ranks (needs root and python3-torch).")
final class BenchTorchCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Option(names = "--work-dir", defaultValue = "/var/tmp/s3cache-bench-torch", description = "Scratch space "
      + "(default ${DEFAULT-VALUE}; deleted afterwards unless it existed or --keep)")
  Path workDir;

  @Option(names = "--images", defaultValue = "10000", description = "JPEGs of ~100 KiB in the data set (default ${DEFAULT-VALUE})")
  int images;

  @Option(names = "--workers", defaultValue = "2", description = "DataLoader num_workers (default ${DEFAULT-VALUE})")
  int workers;

  @Option(names = "--batch", defaultValue = "64", description = "DataLoader batch_size (default ${DEFAULT-VALUE})")
  int batch;

  @Option(names = "--latency-ms", defaultValue = "20", description = "Milliseconds the proxy adds to each S3 "
      + "request (default ${DEFAULT-VALUE})")
  int latencyMs;

  @Option(names = "--epochs", defaultValue = "2", description = "Epochs of the local, plan and DDP rows; the "
      + "no-plan and peer rows read one (default ${DEFAULT-VALUE})")
  int epochs;

  @Option(names = "--peers", split = ",", defaultValue = "s3fs,rclone", description = "Peer tools of the peers "
      + "rows (default ${DEFAULT-VALUE}; 'none' for none)")
  List<String> peers;

  @Option(names = "--only", split = ",", defaultValue = "all", description = "Row groups: local, noplan, plan "
      + "(cold and epoch 2), peers, ddp (local disk and s3cache), or all (default ${DEFAULT-VALUE})")
  List<String> only;

  @Option(names = "--model", defaultValue = "none", description = "none (loader-only epochs) or small-cnn (one "
      + "SGD step of a small CNN per batch) (default ${DEFAULT-VALUE})")
  String model;

  @Option(names = "--python", defaultValue = "/usr/bin/python3", description = "The readers' Python, with torch "
      + "and torchvision (default ${DEFAULT-VALUE})")
  Path python;

  @Option(names = "--seed", defaultValue = "1", description = "The samplers' seed (default ${DEFAULT-VALUE})")
  long seed;

  @Option(names = "--keep", description = "Keep the work dir afterwards")
  boolean keep;

  @Override
  public Integer call() throws Exception {
    TorchBenchmark.Options options = options(workDir.toAbsolutePath(), images, workers, batch, latencyMs, epochs,
        peers, only, model, python, seed, "bin/s3cache "
            + String.join(" ", spec.commandLine().getParseResult().originalArgs()));
    boolean existed = Files.exists(options.workDir());
    try {
      new TorchBenchmark(options, System.out).run();
    } finally {
      if (!keep && !existed && !mountedUnder(options.workDir())) {
        DemoCommand.deleteTree(options.workDir());
      }
    }
    return 0;
  }

  /** The options checked: counts positive, latency not negative, known peers, groups and model. */
  static TorchBenchmark.Options options(Path workDir, int images, int workers, int batch, int latencyMs, int epochs,
      List<String> peers, List<String> only, String model, Path python, long seed, String command) {
    if (images < 1 || batch < 1 || epochs < 1) {
      throw new ConfigException("--images, --batch and --epochs must be at least 1");
    }
    if (workers < 0 || latencyMs < 0) {
      throw new ConfigException("--workers and --latency-ms must be 0 or more");
    }
    if (!model.equals("none") && !model.equals("small-cnn")) {
      throw new ConfigException("unknown --model '" + model + "': expected none or small-cnn");
    }
    Set<String> groups;
    try {
      groups = TorchBenchmark.groups(only);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(e.getMessage());
    }
    return new TorchBenchmark.Options(workDir, images, workers, batch, latencyMs, epochs,
        BenchCommand.checkedPeers(peers), groups, model, python, seed, command);
  }

  /** Whether anything is still mounted under {@code dir}: then it is not deleted (that would reach into the mount). */
  private static boolean mountedUnder(Path dir) throws java.io.IOException {
    String prefix = dir.toString() + "/";
    for (String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
      String[] f = line.split(" ");
      if (f.length > 1 && f[1].startsWith(prefix)) {
        System.err.println("bench-torch: " + f[1] + " is still mounted: " + dir + " is kept");
        return true;
      }
    }
    return false;
  }
}
