package io.s3cache.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * One PyTorch reader of {@link TorchBenchmark}: {@code python/bench/loader_epoch.py} run by Debian's
 * {@code /usr/bin/python3} in a process of its own (with {@code --ddp}, one process per rank), its
 * JSON epoch lines read back. The process and every process under it are killed if the benchmark
 * stops before the reader ends.
 */
final class TorchReader {

  /** What every reader of one benchmark shares. */
  record Settings(Path python, Path repo, int batch, int workers, long seed, String model) {}

  /**
   * One reader run: the row's label, the ImageFolder root, epochs, whether the sampler is wrapped
   * in EpochPlanSampler, the daemon's socket (null: none), DDP ranks (0: one process).
   */
  record Run(String row, Path root, int epochs, boolean plan, Path socket, int ddp) {}

  /** The final figures of an epoch's plan (GET /plan?id=); null fields when the daemon did not say. */
  record Plan(String id, String state, Long onDemandGets, Long prefetchedBlocks, Long alreadyCachedBlocks) {}

  /**
   * One epoch of one rank ({@code rank} -1 without DDP). {@code s3Gets} and {@code getsFirstBatches}
   * are the daemon's GETs (all mounts, prefetch included) during the epoch and during its first
   * {@code firstBatches} batches; -1 without a daemon.
   */
  record Epoch(String row, int rank, int epoch, double seconds, long files, double firstBatchSeconds,
      double slowestBatchSeconds, long s3Gets, long getsFirstBatches, int firstBatches, Plan plan) {
    double filesPerSecond() {
      return files / seconds;
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Settings settings;
  /** The reader running now, for {@link #killRunning()}; null between readers. */
  private volatile Process running;
  /** CPU seconds of the last reader and every process it waited for (its "cpu" line), NaN without one. */
  private volatile double lastCpuSeconds = Double.NaN;

  TorchReader(Settings settings) {
    this.settings = settings;
  }

  /** The reader's command line: page cache dropped before each epoch. */
  static List<String> command(Settings s, Run r) {
    List<String> cmd = new ArrayList<>(List.of(s.python().toString(),
        s.repo().resolve("python/bench/loader_epoch.py").toString(), "--root", r.root().toString(),
        "--epochs", Integer.toString(r.epochs()), "--batch", Integer.toString(s.batch()),
        "--workers", Integer.toString(s.workers()), "--seed", Long.toString(s.seed()), "--model", s.model(),
        "--drop-caches", "--row", r.row()));
    if (r.socket() != null) {
      cmd.addAll(List.of("--socket", r.socket().toString()));
    }
    if (r.plan()) {
      cmd.add("--plan");
    }
    if (r.ddp() > 0) {
      cmd.addAll(List.of("--ddp", Integer.toString(r.ddp())));
    }
    return cmd;
  }

  /** The epoch in a line the reader printed, or null for any other line (the dataset line, a log). */
  static Epoch parse(String line) throws IOException {
    if (!line.startsWith("{")) {
      return null;
    }
    JsonNode n = JSON.readTree(line);
    if (!"epoch".equals(n.path("event").asText())) {
      return null;
    }
    JsonNode p = n.path("plan");
    Plan plan = p.isObject() ? new Plan(p.path("id").asText(null), p.path("state").asText(p.path("error")
        .asText(null)), number(p, "onDemandGets"), number(p, "prefetchedBlocks"), number(p, "alreadyCachedBlocks"))
        : null;
    return new Epoch(n.path("row").asText(), n.path("rank").isNumber() ? n.path("rank").asInt() : -1,
        n.path("epoch").asInt(), n.path("seconds").asDouble(), n.path("files").asLong(),
        n.path("firstBatchSeconds").asDouble(), n.path("slowestBatchSeconds").asDouble(),
        n.path("s3Gets").asLong(-1), n.path("s3GetsFirstBatches").asLong(-1), n.path("firstBatches").asInt(),
        plan);
  }

  /** The seconds of a reader's {@code {"event":"cpu",...}} line, NaN for any other line. */
  static double cpuSeconds(String line) throws IOException {
    if (!line.startsWith("{")) {
      return Double.NaN;
    }
    JsonNode n = JSON.readTree(line);
    return "cpu".equals(n.path("event").asText()) ? n.path("seconds").asDouble(Double.NaN) : Double.NaN;
  }

  /** CPU seconds the last reader run took, its loader workers and DDP ranks included (NaN if unknown). */
  double lastCpuSeconds() {
    return lastCpuSeconds;
  }

  private static Long number(JsonNode n, String field) {
    return n.path(field).isNumber() ? n.path(field).asLong() : null;
  }

  /**
   * Checks the reader read the whole data set in every epoch: {@code files} images alone, or
   * {@code ceil(files / ranks)} per rank (DistributedSampler pads each rank's share to the same size).
   */
  static void check(Run r, List<Epoch> epochs, long files) throws IOException {
    int ranks = Math.max(1, r.ddp());
    if (epochs.size() != r.epochs() * ranks) {
      throw new IOException(r.row() + ": the reader printed " + epochs.size() + " epoch lines, expected "
          + r.epochs() * ranks);
    }
    long share = (files + ranks - 1) / ranks;
    for (Epoch e : epochs) {
      if (e.files() != share) {
        throw new IOException(r.row() + ": epoch " + e.epoch() + (e.rank() >= 0 ? " rank " + e.rank() : "")
            + " read " + e.files() + " images, expected " + share);
      }
    }
  }

  /**
   * Runs {@code r} to its end, its stderr and non-JSON output appended to {@code log}; each epoch
   * handed to {@code progress} as it is printed. Fails if the reader fails or misses images.
   */
  List<Epoch> run(Run r, long files, Path log, Consumer<Epoch> progress) throws IOException, InterruptedException {
    lastCpuSeconds = Double.NaN;
    List<String> cmd = command(settings, r);
    Files.writeString(log, "$ " + String.join(" ", cmd) + "\n", StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
    String path = settings.repo().resolve("python").toString();
    String old = pb.environment().get("PYTHONPATH");
    pb.environment().put("PYTHONPATH", old == null || old.isEmpty() ? path : path + ":" + old);
    pb.environment().put("PYTHONUNBUFFERED", "1");
    pb.environment().remove("S3CACHE_SOCKET");
    Process p = pb.start();
    running = p;
    List<Epoch> epochs = new ArrayList<>();
    boolean done = false;
    try (BufferedReader lines = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        PrintWriter rest = new PrintWriter(Files.newBufferedWriter(log, StandardOpenOption.APPEND))) {
      for (String line = lines.readLine(); line != null; line = lines.readLine()) {
        Epoch e = parse(line);
        double cpu = cpuSeconds(line);
        if (!Double.isNaN(cpu)) {
          lastCpuSeconds = cpu;
        } else if (e == null) {
          rest.println(line);
        } else {
          epochs.add(e);
          progress.accept(e);
        }
      }
      int status = p.waitFor();
      done = true;
      if (status != 0) {
        throw new IOException(r.row() + ": the reader failed with status " + status + "; see " + log);
      }
    } finally {
      if (!done) {
        kill(p);
      }
      running = null;
    }
    check(r, epochs, files);
    epochs.sort(java.util.Comparator.comparingInt(Epoch::epoch).thenComparingInt(Epoch::rank)); // ranks print as they end
    return epochs;
  }

  /** Kills the reader running now, if any (the benchmark's shutdown hook). */
  void killRunning() throws InterruptedException {
    Process p = running;
    if (p != null) {
      kill(p);
    }
  }

  /** Kills {@code p} and every process under it (DDP ranks, DataLoader workers). */
  static void kill(Process p) throws InterruptedException {
    List<ProcessHandle> tree = new ArrayList<>(p.descendants().toList());
    p.destroyForcibly();
    tree.forEach(ProcessHandle::destroyForcibly);
    p.waitFor();
    for (ProcessHandle h : tree) {
      h.onExit().join();
    }
  }
}
