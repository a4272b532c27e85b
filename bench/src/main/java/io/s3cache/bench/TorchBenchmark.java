package io.s3cache.bench;

import io.s3cache.bench.TorchReader.Epoch;
import io.s3cache.s3.RequestCounts;
import io.s3cache.testing.data.ImageDatasetGenerator;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import software.amazon.awssdk.core.sync.RequestBody;

/**
 * {@code s3cache bench-torch}: issue 16's "measured, not asserted" run. A real PyTorch {@code
 * DataLoader} ({@link TorchReader}: torchvision ImageFolder, decode + resize to 64x64 + to-tensor,
 * a fixed-seed shuffled order) reads the same image-folder data set from local disk, from s3cache
 * cold without a plan, from s3cache cold with {@code s3cache.torch.EpochPlanSampler} and its epoch 2
 * (same daemon), from s3fs and rclone, and under DDP with 2 ranks on one mount against the same DDP
 * run on local disk. The S3 server runs in its own process behind a proxy adding {@code --latency-ms}
 * to every request ({@link ServerProcess}); each s3cache daemon is started by {@code bin/s3cache
 * mount} with an empty cache dir ({@link DaemonProcess}); the page cache is dropped before every
 * epoch. Prints the epochs, issue 16's ratios and the S3 requests per row. Root only.
 */
public final class TorchBenchmark {

  /** Row groups ({@code --only}), in the order they run. */
  public static final List<String> GROUPS = List.of("local", "noplan", "plan", "peers", "ddp");

  /** What to run; {@code command} is the command line echoed in the report. */
  public record Options(Path workDir, int images, int workers, int batch, int latencyMillis, int epochs,
      List<String> peers, Set<String> only, String model, Path python, long seed, String command) {}

  static final String LOCAL = "local disk";
  static final String NO_PLAN = "s3cache, no plan";
  static final String PLAN = "s3cache, EpochPlanSampler";
  static final String DDP_LOCAL = "DDP, local disk";
  static final String DDP_PLAN = "DDP, s3cache, EpochPlanSampler";
  static final int DDP_RANKS = 2;

  private static final String BUCKET = "bench";
  private static final String PREFIX = "train";
  private static final int CLASSES = 10;
  private static final long IMAGE_BYTES = 100 << 10;
  /** Distinct encoded images (a multiple of CLASSES); image i reuses the bytes of i mod this. */
  private static final int DISTINCT = 1000;

  private final Options o;
  private final PrintStream out;
  private final RatioTable table = new RatioTable();
  private final Map<String, List<Epoch>> epochs = new LinkedHashMap<>();
  private final Map<String, RequestCounts> requests = new LinkedHashMap<>();
  private final Map<String, Double> daemonCpu = new LinkedHashMap<>();
  /** Per row: the reader's CPU (workers, ranks), the S3 server's (S3Proxy and the latency proxy). */
  private final Map<String, double[]> otherCpu = new LinkedHashMap<>();
  private ServerProcess server; // for its CPU around each reader
  private final List<String> notes = new ArrayList<>();
  /** Servers, daemons and mounts not closed yet, newest first: the shutdown hook closes them. */
  private final Deque<AutoCloseable> open = new ConcurrentLinkedDeque<>();
  private TorchReader reader;
  private long files;

  public TorchBenchmark(Options options, PrintStream out) {
    this.o = options;
    this.out = out;
  }

  /** The groups named by {@code --only}, each checked; all of them for "all". */
  public static Set<String> groups(List<String> only) {
    if (only.contains("all")) {
      return new LinkedHashSet<>(GROUPS);
    }
    for (String g : only) {
      if (!GROUPS.contains(g)) {
        throw new IllegalArgumentException("unknown row group '" + g + "': expected some of "
            + String.join(", ", GROUPS) + " (or all)");
      }
    }
    return new LinkedHashSet<>(only);
  }

  public void run() throws Exception {
    Path work = WorkDir.prepare(o.workDir());
    Path repo = DaemonProcess.cliPath().getParent().getParent();
    checkPython();
    String commit = commit(repo);
    out.printf("command: %s%ncommit: %s%n", o.command(), commit);
    reader = new TorchReader(new TorchReader.Settings(o.python(), repo, o.batch(), o.workers(), o.seed(), o.model()));
    Thread hook = new Thread(this::abort, "bench-torch-cleanup");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      ServerProcess server = track(ServerProcess.start(Files.createDirectories(work.resolve("s3")), o.latencyMillis(),
          work.resolve("s3-server.log")));
      this.server = server;
      try {
        server.client().createBucket(b -> b.bucket(BUCKET));
        Path local = generate(server, work.resolve("local"));
        out.printf("S3 server (pid %d) at %s, +%d ms proxy at %s; reader logs under %s%n", server.pid(),
            server.endpoint(), o.latencyMillis(), server.proxy(), work);
        rows(server, work, local);
      } finally {
        done(server);
      }
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // the JVM is shutting down: the hook runs
      }
    }
    report(commit);
  }

  private void rows(ServerProcess server, Path work, Path local) throws Exception {
    if (any("local")) {
      read(new TorchReader.Run(LOCAL, local, o.epochs(), false, null, 0), work);
    }
    if (any("noplan")) {
      onDaemon(server, work, "noplan", d -> new TorchReader.Run(NO_PLAN, d.mountPoint().resolve(PREFIX), 1, false,
          d.socket(), 0));
    }
    if (any("plan")) {
      onDaemon(server, work, "plan", d -> new TorchReader.Run(PLAN, d.mountPoint().resolve(PREFIX), o.epochs(), true,
          d.socket(), 0));
    }
    if (any("peers")) {
      for (String peer : o.peers()) {
        if (!PeerMount.installed(peer)) {
          notes.add(peer + " is not installed: no " + peer + " row (S3CACHE_WITH_PEERS=1 bin/install-deps)");
          continue;
        }
        out.printf("%s mount through the +%d ms proxy ...%n", peer, o.latencyMillis());
        PeerMount m = track(peer.equals("s3fs") ? PeerMount.s3fs(server.proxy(), BUCKET, work)
            : PeerMount.rclone(server.proxy(), BUCKET, work));
        try {
          read(new TorchReader.Run(peer, m.mountPoint().resolve(PREFIX), 1, false, null, 0), work);
        } finally {
          done(m);
        }
      }
      if (o.peers().isEmpty()) {
        notes.add("peers: --peers none");
      }
    }
    if (any("ddp")) {
      read(new TorchReader.Run(DDP_LOCAL, local, o.epochs(), false, null, DDP_RANKS), work);
      onDaemon(server, work, "ddp", d -> new TorchReader.Run(DDP_PLAN, d.mountPoint().resolve(PREFIX), o.epochs(),
          true, d.socket(), DDP_RANKS));
    }
  }

  /** A fresh daemon (empty cache dir, metadata_ttl indefinite) mounted through the proxy, and one reader on it. */
  private void onDaemon(ServerProcess server, Path work, String name,
      java.util.function.Function<DaemonProcess, TorchReader.Run> run) throws Exception {
    Path dir = work.resolve("s3cache-" + name);
    BenchData.deleteTree(dir); // cold: nothing cached from an earlier run in a kept work dir
    out.printf("s3cache: bin/s3cache mount through the +%d ms proxy (fresh daemon, empty cache, metadata_ttl "
        + "indefinite) ...%n", o.latencyMillis());
    DaemonProcess d = track(DaemonProcess.mount(server.proxy(), BUCKET, dir,
        new DaemonProcess.Config(null, null, "indefinite", null)));
    try {
      TorchReader.Run r = run.apply(d);
      RequestCounts before = d.requests();
      double cpu = d.cpuSeconds();
      read(r, work);
      requests.put(r.row(), d.requests().minus(before));
      daemonCpu.put(r.row(), d.cpuSeconds() - cpu);
    } finally {
      done(d);
    }
  }

  private void read(TorchReader.Run r, Path work) throws Exception {
    out.printf("%s: %d epoch(s)%s, page cache dropped before each ...%n", r.row(), r.epochs(),
        r.ddp() > 0 ? ", " + r.ddp() + " ranks" : "");
    Path log = work.resolve("reader-" + r.row().replaceAll("[^A-Za-z0-9]+", "-") + ".log");
    double serverBefore = server == null ? Double.NaN : CpuTime.seconds(server.pid());
    epochs.put(r.row(), reader.run(r, files, log, e -> out.printf(Locale.ROOT,
        "  epoch %d%s: %.2f s, %.0f files/s, first batch after %.2f s, slowest batch wait %.2f s%s%n", e.epoch(),
        e.rank() >= 0 ? " rank " + e.rank() : "", e.seconds(), e.filesPerSecond(), e.firstBatchSeconds(),
        e.slowestBatchSeconds(), e.s3Gets() >= 0 ? ", " + e.s3Gets() + " GETs" : "")));
    otherCpu.put(r.row(), new double[] {reader.lastCpuSeconds(),
        server == null ? Double.NaN : CpuTime.seconds(server.pid()) - serverBefore});
  }

  /**
   * The data set: {@code --images} JPEGs of ~100 KiB in 10 class directories, written to local disk
   * and PUT unchanged into the bucket under {@code train/} (directly, not through the proxy). Only
   * {@value #DISTINCT} images are drawn and encoded; image i reuses the bytes of i mod that (same
   * class), as TrainBenchmark does: neither s3cache, S3 nor the page cache shares anything between
   * equal contents under other names, and encoding 10,000 noisy JPEGs on 2 cores takes minutes.
   */
  private Path generate(ServerProcess server, Path localRoot) throws Exception {
    long start = System.nanoTime();
    ImageDatasetGenerator gen = new ImageDatasetGenerator(CLASSES, IMAGE_BYTES, ImageDatasetGenerator.Format.JPEG, 1);
    int side = gen.calibrateSide();
    int distinct = Math.min(o.images(), DISTINCT);
    byte[][] encoded = new byte[distinct][];
    Path local = localRoot.resolve(PREFIX);
    BenchData.deleteTree(local);
    AtomicLong bytes = new AtomicLong();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> pending = new ArrayList<>();
      for (int i = 0; i < distinct; i++) {
        int n = i;
        pending.add(pool.submit(() -> encoded[n] = gen.encoded(n, side)));
      }
      for (Future<?> f : pending) {
        f.get();
      }
      pending.clear();
      for (int i = 0; i < o.images(); i++) {
        int n = i;
        pending.add(pool.submit(() -> {
          byte[] data = encoded[n % distinct];
          String name = gen.relativePath(n);
          Path to = local.resolve(name);
          Files.createDirectories(to.getParent());
          Files.write(to, data);
          server.client().putObject(b -> b.bucket(BUCKET).key(PREFIX + "/" + name), RequestBody.fromBytes(data));
          bytes.addAndGet(data.length);
          return null;
        }));
      }
      for (Future<?> f : pending) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    files = o.images();
    out.printf(Locale.ROOT, "generated %d JPEGs (%dx%d, %d classes, %d distinct contents, %s MiB in all) in the "
        + "bucket (%s/) and under %s in %.1f s%n", o.images(), side, side, CLASSES, distinct,
        RatioTable.number(bytes.get() / 1048576.0), PREFIX, local, (System.nanoTime() - start) / 1e9);
    return local;
  }

  private void checkPython() throws Exception {
    Commands.Ran ran;
    try {
      ran = Commands.run(List.of(o.python().toString(), "-c", "import torch, torchvision, PIL"));
    } catch (java.io.IOException e) {
      ran = new Commands.Ran(-1, e.getMessage());
    }
    if (ran.status() != 0) {
      throw new IllegalStateException("the readers need PyTorch for " + o.python() + " (apt-get install "
          + "python3-torch python3-torchvision python3-pil, or --python): " + ran.output().strip());
    }
  }

  /** HEAD's commit of the checkout, marked when it has uncommitted changes; "unknown" outside git. */
  static String commit(Path repo) {
    try {
      Commands.Ran head = Commands.run(List.of("git", "-C", repo.toString(), "rev-parse", "HEAD"));
      if (head.status() != 0) {
        return "unknown (not a git checkout)";
      }
      Commands.Ran dirty = Commands.run(List.of("git", "-C", repo.toString(), "status", "--porcelain",
          "--untracked-files=no"));
      return head.output().strip() + (dirty.output().isBlank() ? "" : " (with uncommitted changes)");
    } catch (java.io.IOException e) {
      return "unknown (" + e.getMessage() + ")";
    }
  }

  private boolean any(String group) {
    return o.only().contains(group);
  }

  private <T extends AutoCloseable> T track(T resource) {
    open.push(resource);
    return resource;
  }

  /** Closes {@code resource} unless the shutdown hook took it. */
  private void done(AutoCloseable resource) throws Exception {
    if (open.remove(resource)) {
      resource.close();
    }
  }

  /** The shutdown hook (Ctrl-C, SIGTERM): the reader killed, then every daemon, mount and server closed. */
  private void abort() {
    try {
      if (reader != null) {
        reader.killRunning();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (AutoCloseable r = open.poll(); r != null; r = open.poll()) {
      try {
        r.close();
      } catch (Exception e) {
        System.err.println("bench-torch: cleaning up " + r + " failed: " + e);
      }
    }
  }

  private void report(String commit) {
    new TorchReport(o, epochs, requests, daemonCpu, otherCpu, notes, table).print(out, commit);
  }
}
