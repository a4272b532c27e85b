package io.s3cache.train;

import io.s3cache.control.PreloadProgress;
import io.s3cache.config.ByteSize;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/s3cache-train}: trains a model from a directory (on an s3cache mount or anywhere) and
 * prints one line per epoch: wall time, samples/s, data-wait fraction, cache hit ratio and bytes
 * from S3 (from the daemon), train accuracy. Bad input gets one line on stderr and a non-zero exit
 * (2 for bad usage, 1 for anything else).
 */
@Command(name = "s3cache-train", mixinStandardHelpOptions = true,
    description = "Train a DJL model from image files on an s3cache mount, telling the daemon each epoch's order.")
public final class TrainCli implements Callable<Integer> {

  @Option(names = "--data", required = true, paramLabel = "DIR",
      description = "Image folder (DIR/CLASS/*.jpg|png) or a labels CSV (path,label)")
  Path data;

  @Option(names = "--model", defaultValue = "cnn", description = "mlp, cnn or resnet18 (default ${DEFAULT-VALUE})")
  String model;

  @Option(names = "--epochs", defaultValue = "1", description = "Epochs (default ${DEFAULT-VALUE})")
  int epochs;

  @Option(names = "--batch", defaultValue = "32", description = "Batch size (default ${DEFAULT-VALUE})")
  int batch;

  @Option(names = "--workers", defaultValue = "4", description = "Decoding threads (default ${DEFAULT-VALUE})")
  int workers;

  @Option(names = "--plan", negatable = true, defaultValue = "true", fallbackValue = "true",
      description = "Send each epoch's order to the daemon as a plan (default on; --no-plan to compare)")
  boolean plan;

  @Option(names = "--preload", description = "Preload DIR into the daemon's disk cache before the first epoch")
  boolean preload;

  @Option(names = "--checkpoint", paramLabel = "DIR", description = "Save the model into DIR after every epoch")
  Path checkpoint;

  @Option(names = "--compare-local", paramLabel = "DIR",
      description = "Also train the same epochs from a local copy in DIR and print the time ratio")
  Path compareLocal;

  @Option(names = "--image-size", defaultValue = "32", description = "Images are resized to SIZE x SIZE (default ${DEFAULT-VALUE})")
  int imageSize;

  @Option(names = "--seed", defaultValue = "42", description = "Seed of the shuffle and the weights (default ${DEFAULT-VALUE})")
  long seed;

  @Option(names = "--lr", defaultValue = "0.001", description = "Adam learning rate (default ${DEFAULT-VALUE})")
  float learningRate;

  @Option(names = "--socket", paramLabel = "PATH",
      description = "The daemon's control socket (default: $S3CACHE_SOCKET, else /run/s3cache/s3cache.sock)")
  Path socket;

  public static void main(String[] args) {
    System.exit(run(System.out, System.err, args));
  }

  public static int run(PrintStream out, PrintStream err, String... args) {
    CommandLine cli = new CommandLine(new TrainCli(out, err));
    cli.setErr(new PrintWriter(err, true));
    cli.setOut(new PrintWriter(out, true));
    cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
      String m = e.getMessage();
      err.println("s3cache-train: " + (m == null ? e.toString() : m.replace('\n', ' ')));
      return 1;
    });
    cli.setParameterExceptionHandler((e, a) -> {
      err.println("s3cache-train: " + e.getMessage());
      err.println("Try 's3cache-train --help' for usage.");
      return 2;
    });
    return cli.execute(args);
  }

  private final PrintStream out;
  private final PrintStream err;

  TrainCli(PrintStream out, PrintStream err) {
    this.out = out;
    this.err = err;
  }

  @Override
  public Integer call() throws Exception {
    if (epochs < 1 || batch < 1 || workers < 1 || workers > 256) {
      throw new CommandLine.ParameterException(new CommandLine(this),
          "--epochs and --batch must be >= 1, --workers from 1 to 256");
    }
    Models.build(model, 2); // an unknown model fails before anything is read
    if (checkpoint != null) {
      checkWritable(checkpoint);
    }
    DjlEnvironment.configure();
    Path sock = socket != null ? socket : Path.of(envOr("S3CACHE_SOCKET", "/run/s3cache/s3cache.sock"));
    Path dataAbs = data.toAbsolutePath().normalize();
    List<EpochReport> mounted;
    try (DaemonLink link = DaemonLink.connect(sock, err)) {
      if (preload) {
        long start = System.nanoTime();
        PreloadProgress p = link.preload(dataAbs.toString());
        if (p != null) {
          out.printf(Locale.ROOT, "preloaded %d files (%s, %s fetched from S3) in %.1f s%n", p.filesDone(),
              ByteSize.format(p.bytesDone()), ByteSize.format(p.bytesFetched()), (System.nanoTime() - start) / 1e9);
        }
      }
      out.println("training " + model + " on " + TrainingRun.device() + " from " + dataAbs
          + (plan && link.connected() ? " with epoch plans" : " without epoch plans"));
      mounted = new TrainingRun(options(dataAbs, plan, checkpoint), link, out, "mount").run();
    }
    if (compareLocal != null) {
      List<EpochReport> local = new TrainingRun(options(compareLocal.toAbsolutePath().normalize(), false, null),
          DaemonLink.detached(err), out, "local").run();
      for (int i = 0; i < epochs; i++) {
        out.printf(Locale.ROOT, "epoch %d: mount %.2f s, local %.2f s, mount/local %.2f%n", i + 1,
            mounted.get(i).seconds(), local.get(i).seconds(), mounted.get(i).seconds() / local.get(i).seconds());
      }
    }
    return 0;
  }

  private TrainingRun.Options options(Path dir, boolean withPlan, Path checkpointDir) {
    return new TrainingRun.Options(dir, model, epochs, batch, workers, withPlan, imageSize, seed, learningRate,
        checkpointDir);
  }

  /**
   * Fails before training when checkpoints cannot be written, e.g. into an s3cache mount that is not
   * writable (mounts are read-only unless mounted with {@code -o rw}).
   */
  static void checkWritable(Path dir) throws TrainException {
    try {
      Files.createDirectories(dir);
      // A temp name (s3cache's default temp_names): on a writable mount it is never uploaded, so
      // the probe costs no PUT and DELETE and never shows up in S3.
      Path probe = Files.createTempFile(dir, ".s3cache-train-", ".tmp");
      Files.delete(probe);
    } catch (IOException e) {
      if (e.getMessage() != null && e.getMessage().contains("Read-only file system")) {
        throw new TrainException("cannot write checkpoints to " + dir + " (read-only file system); to save them "
            + "into S3, mount with -o rw, or give --checkpoint a local directory");
      }
      throw new TrainException("cannot write checkpoints to " + dir + " (" + e + ")");
    }
  }

  private static String envOr(String name, String fallback) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? fallback : v;
  }
}
