package io.s3cache.cli;

import io.s3cache.config.ByteSize;
import io.s3cache.config.ConfigException;
import io.s3cache.control.ControlClient;
import io.s3cache.control.PreloadProgress;
import io.s3cache.control.PreloadRequest;
import io.s3cache.control.PlanRequest;
import io.s3cache.control.PlanStatus;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code s3cache preload PATH... [--parallel N] [--shard I/N] [--dry-run]}: loads everything under
 * the paths into the disk tier. A progress bar on a terminal, a line every few seconds otherwise,
 * and a summary. Interrupted and re-run, it fetches only what is missing.
 *
 * <p>{@code s3cache preload --order FILE [--epoch E]}: sends the files listed in FILE (one path per
 * line, in read order) to the daemon as an epoch plan and returns at once; the daemon prefetches
 * them a window ahead of whatever process then opens them.
 */
@Command(mixinStandardHelpOptions = true, name = "preload",
    description = "Load mounted paths (or s3:// URLs of a mounted bucket) into the disk cache before training.")
final class PreloadCommand implements Callable<Integer> {

  @Mixin SocketOption socket;

  @Parameters(paramLabel = "PATH", arity = "0..*")
  List<String> paths = List.of();

  @Option(names = "--order", paramLabel = "FILE",
      description = "Send the files in FILE (one path per line, in read order) as an epoch plan and return at once")
  Path order;

  @Option(names = "--epoch", defaultValue = "0", description = "Epoch number reported with an --order plan (default ${DEFAULT-VALUE})")
  long epoch;

  @Option(names = "--window", description = "With --order: files to prefetch ahead of the reader (default 256)")
  Integer window;

  @Option(names = "--parallel", defaultValue = "32", description = "Concurrent block fetches (default ${DEFAULT-VALUE})")
  int parallel;

  @Option(names = "--shard", paramLabel = "I/N", description = "Load only shard I of N (0-based), e.g. 0/4 on the first of four nodes")
  String shard;

  @Option(names = "--dry-run", description = "List and size what would be fetched; fetch nothing")
  boolean dryRun;

  @Override
  public Integer call() throws Exception {
    if (order != null) {
      if (!paths.isEmpty() || shard != null || dryRun) {
        throw new ConfigException("--order takes no PATH, --shard or --dry-run");
      }
      return sendPlan();
    }
    if (paths.isEmpty()) {
      throw new ConfigException("preload needs a PATH (or --order FILE)");
    }
    Integer index = null;
    Integer count = null;
    if (shard != null) {
      String[] parts = shard.split("/");
      try {
        index = Integer.parseInt(parts[0]);
        count = Integer.parseInt(parts[1]);
        if (parts.length != 2 || count < 1 || index < 0 || index >= count) {
          throw new NumberFormatException();
        }
      } catch (RuntimeException e) {
        throw new ConfigException("invalid --shard '" + shard + "': expected I/N with 0 <= I < N, e.g. 0/4");
      }
    }
    if (parallel < 1 || parallel > 256) {
      throw new ConfigException("invalid --parallel " + parallel + ": expected 1 to 256");
    }
    PreloadRequest request = new PreloadRequest(paths.stream().map(CliPaths::absolute).toList(), parallel, index,
        count, dryRun);
    PrintStream out = System.out;
    long start = System.nanoTime();
    Display display = System.console() != null && !dryRun ? new Bar() : new Lines(out);
    PreloadProgress last;
    try (ControlClient client = socket.connect()) {
      last = client.preload(request, display::update);
    } finally {
      display.close();
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    if (dryRun) {
      out.printf(Locale.ROOT, "dry run: %d objects, %s; %s already cached, %s to fetch%n", last.files(),
          ByteSize.format(last.bytes()), ByteSize.format(last.bytesDone()),
          ByteSize.format(last.bytes() - last.bytesDone()));
      if (last.error() != null) {
        System.err.println("s3cache: " + last.error());
        return S3cacheCli.FAILED;
      }
      return 0;
    }
    out.printf(Locale.ROOT, "preloaded %d of %d objects (%s) in %.1f s: fetched %s from S3 (%.0f MB/s), %s was already cached%n",
        last.filesDone(), last.files(), ByteSize.format(last.bytesDone()), seconds, ByteSize.format(last.bytesFetched()),
        last.bytesFetched() / 1e6 / Math.max(seconds, 1e-3), ByteSize.format(last.bytesDone() - last.bytesFetched()));
    if (!last.failed().isEmpty()) {
      System.err.printf("s3cache: %d objects failed after retries:%n", last.failed().size());
      last.failed().forEach(f -> System.err.println("  " + f));
      return S3cacheCli.FAILED;
    }
    if (last.error() != null) {
      System.err.println("s3cache: preload stopped: " + last.error());
      return S3cacheCli.FAILED;
    }
    return 0;
  }

  private int sendPlan() throws Exception {
    List<String> lines;
    try {
      lines = Files.readAllLines(order, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new ConfigException("order file " + order + " does not exist");
    } catch (IOException e) {
      throw new ConfigException("cannot read order file " + order + ": " + e.getMessage());
    }
    List<String> files = new ArrayList<>(lines.size());
    for (String line : lines) {
      String p = line.strip();
      if (!p.isEmpty()) {
        files.add(CliPaths.absolute(p));
      }
    }
    if (files.isEmpty()) {
      throw new ConfigException("order file " + order + " lists no paths");
    }
    if (window != null && window < 1) {
      throw new ConfigException("invalid --window " + window + ": expected 1 or more files");
    }
    PlanStatus status;
    try (ControlClient client = socket.connect()) {
      status = client.plan(new PlanRequest(epoch, files, window, null, null));
    }
    System.out.printf(Locale.ROOT, "plan %s for epoch %d sent: %d files on %s; the daemon prefetches them ahead of the reader "
        + "('s3cache stats' shows progress; the plan ends when the last file is opened)%n",
        status.id(), status.epoch(), status.files(), status.mountPoint());
    return 0;
  }

  private interface Display extends AutoCloseable {
    void update(PreloadProgress p);

    @Override
    void close();
  }

  /** A progress bar on a terminal: bytes, with files, MB/s and ETA. */
  private static final class Bar implements Display {
    private ProgressBar bar;

    @Override
    public void update(PreloadProgress p) {
      if (bar == null && p.phase().equals("fetching")) {
        bar = new ProgressBarBuilder().setTaskName("preload").setInitialMax(Math.max(1, p.bytes() >> 20))
            .setUnit(" MiB", 1).setStyle(ProgressBarStyle.ASCII).showSpeed().build();
      }
      if (bar != null) {
        bar.maxHint(Math.max(1, p.bytes() >> 20));
        bar.stepTo(p.bytesDone() >> 20);
        bar.setExtraMessage(p.filesDone() + "/" + p.files() + " files");
      }
    }

    @Override
    public void close() {
      if (bar != null) {
        bar.close();
      }
    }
  }

  /** Plain lines, at most one every five seconds, for logs and pipes. */
  private static final class Lines implements Display {
    private final PrintStream out;
    private final long start = System.nanoTime();
    private long lastLine;

    Lines(PrintStream out) {
      this.out = out;
    }

    @Override
    public void update(PreloadProgress p) {
      long now = System.nanoTime();
      if (p.done() || now - lastLine < 5_000_000_000L) {
        return;
      }
      lastLine = now;
      double seconds = (now - start) / 1e9;
      double rate = p.bytesFetched() / 1e6 / Math.max(seconds, 1e-3);
      long left = p.bytes() - p.bytesDone();
      out.printf(Locale.ROOT, "preload: %s, %d/%d files, %s/%s, %.0f MB/s, ETA %s%n", p.phase(), p.filesDone(),
          p.files(), ByteSize.format(p.bytesDone()), ByteSize.format(p.bytes()), rate,
          rate <= 0 ? "?" : String.format(Locale.ROOT, "%.0f s", left / 1e6 / rate));
    }

    @Override
    public void close() {}
  }
}
