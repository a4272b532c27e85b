package io.s3cache.train.bench;

import io.s3cache.config.ByteSize;
import io.s3cache.fuse.MountTable;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/s3cache-train bench}: runs {@link TrainBenchmark} (root only) and removes its work dir after. */
@Command(name = "s3cache-train bench", mixinStandardHelpOptions = true,
    description = "First and second epoch of a shuffled small-file dataset from local disk and from s3cache "
        + "(no plan, plan) with latency added to every S3 request (needs root).")
public final class TrainBenchCli implements Callable<Integer> {

  @Option(names = "--work-dir", defaultValue = "/var/tmp/s3cache-trainbench",
      description = "Scratch space, removed afterwards unless --keep (default ${DEFAULT-VALUE})")
  Path workDir;

  @Option(names = "--images", defaultValue = "10000", description = "Images in the dataset (default ${DEFAULT-VALUE})")
  int images;

  @Option(names = "--size", defaultValue = "100KiB", description = "Size of one image (default ${DEFAULT-VALUE})")
  String size;

  @Option(names = "--classes", defaultValue = "10", description = "Classes (default ${DEFAULT-VALUE})")
  int classes;

  @Option(names = "--workers", defaultValue = "32", description = "Loader threads W (default ${DEFAULT-VALUE})")
  int workers;

  @Option(names = "--batch", defaultValue = "64", description = "Batch size (default ${DEFAULT-VALUE})")
  int batch;

  @Option(names = "--image-size", defaultValue = "32", description = "Decoded images are resized to SIZE x SIZE (default ${DEFAULT-VALUE})")
  int imageSize;

  @Option(names = "--seed", defaultValue = "42", description = "Seed of the epoch order (default ${DEFAULT-VALUE})")
  long seed;

  @Option(names = "--latency", defaultValue = "20", description = "Milliseconds added to every S3 request (default ${DEFAULT-VALUE})")
  int latencyMs;

  @Option(names = "--ram-cache", defaultValue = "2G", description = "RAM tier of each s3cache daemon (default ${DEFAULT-VALUE})")
  String ramCache;

  @Option(names = "--train", paramLabel = "MODEL",
      description = "Also train MODEL (mlp, cnn, resnet18) for 2 epochs: local, mount with plans, mount without")
  String train;

  @Option(names = "--mode", defaultValue = "decode",
      description = "decode (read and decode, the bridge's loader), read (read whole, no decode) or both (default ${DEFAULT-VALUE})")
  String mode;

  @Option(names = "--keep", description = "Keep the work dir afterwards")
  boolean keep;

  public static void main(String[] args) {
    CommandLine cli = new CommandLine(new TrainBenchCli());
    cli.setExecutionExceptionHandler((e, c, p) -> {
      String m = e.getMessage();
      c.getErr().println("s3cache-train bench: " + (m == null ? e.toString() : m.replace('\n', ' ')));
      return 1;
    });
    cli.setParameterExceptionHandler((e, a) -> {
      PrintWriter err = e.getCommandLine().getErr();
      err.println("s3cache-train bench: " + e.getMessage());
      return 2;
    });
    System.exit(cli.execute(args));
  }

  @Override
  public Integer call() throws Exception {
    if (images < 2 || workers < 1 || workers > 256 || batch < 1 || latencyMs < 0) {
      throw new CommandLine.ParameterException(new CommandLine(this),
          "--images >= 2, --workers 1..256, --batch >= 1, --latency >= 0");
    }
    if (!List.of("decode", "read", "both").contains(mode)) {
      throw new CommandLine.ParameterException(new CommandLine(this), "--mode must be decode, read or both");
    }
    boolean existed = Files.exists(workDir);
    try {
      new TrainBenchmark(new TrainBenchmark.Options(workDir, images, ByteSize.parse("--size", size.replace("~", "")),
          classes, workers, batch, imageSize, seed, Duration.ofMillis(latencyMs), ramCache, train, !mode.equals("decode"), !mode.equals("read")),
          System.out).run();
    } finally {
      if (!keep && !existed) {
        deleteTree(workDir);
      }
    }
    return 0;
  }

  /** Removes {@code dir}, never descending into a mount left behind (its files are not ours to delete). */
  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    List<Path> paths;
    try (Stream<Path> s = Files.walk(dir)) {
      paths = s.sorted(Comparator.reverseOrder()).toList();
    }
    for (Path p : paths) {
      if (Files.isDirectory(p) && MountTable.isMounted(p)) {
        throw new IOException(p + " is still mounted; left " + dir + " in place");
      }
    }
    for (Path p : paths) {
      Files.deleteIfExists(p);
    }
  }
}
