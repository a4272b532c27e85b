package io.s3cache.train.bench;

import io.s3cache.bench.WorkDir;
import io.s3cache.config.ByteSize;
import io.s3cache.embedded.EmbeddedS3Server;
import io.s3cache.embedded.FaultInjectingProxy;
import io.s3cache.embedded.FaultInjectingProxy.Fault;
import io.s3cache.embedded.FaultPlan;
import io.s3cache.testing.data.ImageDatasetGenerator;
import io.s3cache.testing.data.PageCache;
import io.s3cache.train.DaemonLink;
import io.s3cache.train.DjlEnvironment;
import io.s3cache.train.EpochPlanner;
import io.s3cache.train.EpochReport;
import io.s3cache.train.ImageFileDataset;
import io.s3cache.train.PlanSampler;
import io.s3cache.train.SampleList;
import io.s3cache.train.TrainException;
import io.s3cache.train.TrainingRun;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import software.amazon.awssdk.core.sync.RequestBody;

/**
 * {@code bin/s3cache-train bench}: issue 6's "measured, not asserted" run. An embedded S3 server
 * behind a {@link FaultInjectingProxy} that delays <em>every</em> request (GET, HEAD, LIST) by the
 * same latency; a generated image-folder dataset in the bucket and a byte-identical copy on local
 * disk; then the same shuffled epochs (same seed, same order) read and decoded by the bridge's
 * loader with W workers: local disk, a cold s3cache mount without a plan, a cold one with the
 * plan, and epoch 2 of each. Cold means a fresh daemon with an empty cache dir and the kernel page
 * cache dropped. Prints a table of times and ratios. Root only (it drops the page cache and mounts).
 */
public final class TrainBenchmark {

  /** What to run. {@code trainModel} null: loader-only epochs; else also training epochs with it. */
  public record Options(Path workDir, int images, long imageBytes, int classes, int workers, int batch, int imageSize,
      long seed, Duration latency, String ramCache, String trainModel, boolean readOnly, boolean decode) {}

  private static final String BUCKET = "train";
  private static final String PREFIX = "ds/";
  private static final int DISTINCT = 1000;

  private record Row(String what, LoaderEpoch.Result result, CachedMount.Requests requests, int proxied, int delayed) {}

  private final Options options;
  private final PrintStream out;

  public TrainBenchmark(Options options, PrintStream out) {
    this.options = options;
    this.out = out;
  }

  public void run() throws Exception {
    Path work = WorkDir.prepare(options.workDir());
    try (EmbeddedS3Server server = EmbeddedS3Server.start(Files.createDirectories(work.resolve("s3")));
        FaultInjectingProxy proxy = FaultInjectingProxy.start(server.endpoint())) {
      server.createBucket(BUCKET);
      Path local = generate(server, work);
      // Every request through the proxy waits the latency before it is forwarded: a LATENCY rate of 1.
      proxy.plan(new FaultPlan(Map.of(Fault.LATENCY, 1.0), 1, options.latency()));
      out.printf(Locale.ROOT, "proxy %s -> S3 %s: +%d ms on every request; %d loader workers, batch %d, seed %d%n",
          proxy.endpoint(), server.endpoint(), options.latency().toMillis(), options.workers(), options.batch(),
          options.seed());
      AtomicInteger n = new AtomicInteger();
      ExecutorService workers = Executors.newFixedThreadPool(options.workers(), r -> {
        Thread t = new Thread(r, "bench-decode-" + n.incrementAndGet());
        t.setDaemon(true);
        return t;
      });
      try {
        measureLoader(server, proxy, work, local, workers);
      } finally {
        workers.shutdownNow();
      }
      if (options.trainModel() != null) {
        measureTraining(server, proxy, work, local);
      }
    }
  }

  /**
   * Writes the dataset to local disk and the same bytes into the bucket (directly, not through the
   * proxy). Every image is its own file and object; only {@code distinct} of them are drawn and
   * encoded, image {@code i} reusing the bytes of {@code i mod distinct} (same class, as distinct is
   * a multiple of the class count): encoding 10k noisy 100 KiB JPEGs on 2 cores took minutes, and
   * neither s3cache, S3 nor the page cache shares anything between equal contents under other names.
   */
  private Path generate(EmbeddedS3Server server, Path work) throws Exception {
    long start = System.nanoTime();
    ImageDatasetGenerator gen = new ImageDatasetGenerator(options.classes(), options.imageBytes(),
        ImageDatasetGenerator.Format.JPEG, 1);
    int side = gen.calibrateSide();
    int distinct = Math.min(options.images(), Math.max(options.classes(), DISTINCT / options.classes() * options.classes()));
    byte[][] encoded = new byte[distinct][];
    Path local = work.resolve("local");
    ExecutorService pool = Executors.newFixedThreadPool(8);
    AtomicLong bytes = new AtomicLong();
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
      for (int i = 0; i < options.images(); i++) {
        int n = i;
        pending.add(pool.submit(() -> {
          byte[] data = encoded[n % distinct];
          Path to = local.resolve(gen.relativePath(n));
          Files.createDirectories(to.getParent());
          Files.write(to, data);
          server.client().putObject(b -> b.bucket(BUCKET).key(PREFIX + gen.relativePath(n)),
              RequestBody.fromBytes(data));
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
    out.printf(Locale.ROOT, "generated %d JPEG images (%dx%d, %s in all, %s each on average, %d classes, %d distinct "
            + "contents) in the bucket and on local disk under %s in %.1f s%n", options.images(), side, side,
        ByteSize.format(bytes.get()), ByteSize.format(bytes.get() / options.images()), options.classes(), distinct,
        local, (System.nanoTime() - start) / 1e9);
    return local;
  }

  private void measureLoader(EmbeddedS3Server server, FaultInjectingProxy proxy, Path work, Path local,
      ExecutorService workers) throws Exception {
    SampleList localSamples = SampleList.open(local);
    // Warm-up: the JIT compiles the JPEG decoder before anything is timed (a trainer's first epoch
    // pays that on any filesystem alike; it must not land on whichever pass runs first).
    warmUp(localSamples, workers);
    for (boolean decode : new boolean[] {false, true}) {
      if (decode ? !options.decode() : !options.readOnly()) {
        continue;
      }
      String mode = decode ? "decode" : "read";
      out.printf(Locale.ROOT, "%n%s:%n", decode ? "Read and decode (the bridge's BatchLoader and ImageFileDataset)"
          : "Read only (each file read whole, not decoded)");
      List<Row> rows = new ArrayList<>();
      DaemonLink none = DaemonLink.detached(System.err);
      PageCache.drop();
      rows.add(local("local disk, epoch 1 (page cache dropped)", localSamples, 0, workers, none, decode));
      rows.add(local("local disk, epoch 2", localSamples, 1, workers, none, decode));
      try (CachedMount m = mount(server, proxy, work, "noplan-" + mode)) {
        PageCache.drop();
        SampleList samples = listed(m, proxy);
        rows.add(cached("s3cache, no plan, epoch 1 (cold)", m, proxy, samples, 0, workers, false, decode));
        if (!decode) {
          rows.add(cached("s3cache, no plan, epoch 2", m, proxy, samples, 1, workers, false, decode));
        }
      }
      try (CachedMount m = mount(server, proxy, work, "plan-" + mode)) {
        PageCache.drop();
        SampleList samples = listed(m, proxy);
        rows.add(cached("s3cache, plan, epoch 1 (cold)", m, proxy, samples, 0, workers, true, decode));
        rows.add(cached("s3cache, plan, epoch 2", m, proxy, samples, 1, workers, true, decode));
      }
      report(rows, decode);
    }
  }

  private void warmUp(SampleList samples, ExecutorService workers) throws Exception {
    ImageFileDataset ds = ImageFileDataset.builder(samples, options.imageSize())
        .setSampling(new PlanSampler(new EpochPlanner(options.seed(), samples.size()), options.batch())).build();
    List<Future<?>> f = new ArrayList<>();
    for (int i = 0; i < Math.min(1000, samples.size()); i++) {
      int index = i;
      f.add(workers.submit(() -> ds.decode(index)));
    }
    for (Future<?> x : f) {
      x.get();
    }
  }

  private CachedMount mount(EmbeddedS3Server server, FaultInjectingProxy proxy, Path work, String name)
      throws Exception {
    return new CachedMount(server, proxy.endpoint(), work, name, options.ramCache(), "8G", "s3://" + BUCKET + "/"
        + PREFIX.substring(0, PREFIX.length() - 1), System.err);
  }

  /** The dataset's file list through the mount (the loader's own listing), reported but not timed as an epoch. */
  private SampleList listed(CachedMount m, FaultInjectingProxy proxy) throws TrainException {
    CachedMount.Requests before = m.requests();
    int proxied = proxy.requests();
    long start = System.nanoTime();
    SampleList samples = SampleList.open(m.mountPoint());
    CachedMount.Requests r = m.requests().minus(before);
    out.printf(Locale.ROOT, "  listing %s: %d files in %.2f s (S3: %d LIST, %d HEAD, %d GET; %d through the proxy)%n",
        m.mountPoint(), samples.size(), (System.nanoTime() - start) / 1e9, r.lists(), r.heads(), r.gets(),
        proxy.requests() - proxied);
    return samples;
  }

  private Row local(String what, SampleList samples, int epoch, ExecutorService workers, DaemonLink none,
      boolean decode) throws Exception {
    LoaderEpoch.Result r = LoaderEpoch.run(samples, options.seed(), epoch, options.batch(), options.imageSize(),
        workers, options.workers(), none, false, decode);
    return checked(new Row(what, r, null, 0, 0), samples);
  }

  private Row cached(String what, CachedMount m, FaultInjectingProxy proxy, SampleList samples, int epoch,
      ExecutorService workers, boolean plan, boolean decode) throws Exception {
    CachedMount.Requests before = m.requests();
    int proxied = proxy.requests();
    int delayed = proxy.injected(Fault.LATENCY);
    LoaderEpoch.Result r = LoaderEpoch.run(samples, options.seed(), epoch, options.batch(), options.imageSize(),
        workers, options.workers(), m.link(), plan, decode);
    return checked(new Row(what, r, m.requests().minus(before), proxy.requests() - proxied,
        proxy.injected(Fault.LATENCY) - delayed), samples);
  }

  private Row checked(Row row, SampleList samples) {
    if (row.result().skipped() > 0 || row.result().files() != samples.size()) {
      throw new IllegalStateException(row.what() + ": decoded " + row.result().files() + " of " + samples.size()
          + " images, " + row.result().skipped() + " unreadable");
    }
    out.printf(Locale.ROOT, "  %-42s %7.2f s%s%n", row.what(), row.result().seconds(), row.requests() == null ? ""
        : String.format(Locale.ROOT, "  (S3: %d GET, %d HEAD, %d LIST; proxy: %d requests, %d delayed%s)",
            row.requests().gets(), row.requests().heads(), row.requests().lists(), row.proxied(), row.delayed(),
            row.result().planned() ? "; plan on-demand GETs " + row.result().onDemandGets() : ""));
    return row;
  }

  private Row row(List<Row> rows, String what) {
    return rows.stream().filter(r -> r.what().startsWith(what)).findFirst().orElseThrow();
  }

  private void report(List<Row> rows, boolean decode) {
    double local1 = row(rows, "local disk, epoch 1").result().seconds();
    double local2 = row(rows, "local disk, epoch 2").result().seconds();
    double noPlan1 = row(rows, "s3cache, no plan, epoch 1").result().seconds();
    double plan1 = row(rows, "s3cache, plan, epoch 1").result().seconds();
    double plan2 = row(rows, "s3cache, plan, epoch 2").result().seconds();
    out.println();
    out.printf(Locale.ROOT, "%s, %d workers, no model step, %d files, +%d ms per S3 request:%n%n",
        decode ? "Read + decode epochs" : "Read-only epochs", options.workers(), options.images(),
        options.latency().toMillis());
    out.println("| pass | epoch time | files/s | vs local disk, same epoch | S3 GET / HEAD / LIST |");
    out.println("|---|---|---|---|---|");
    for (Row r : rows) {
      double ref = r.what().contains("epoch 1") ? local1 : local2;
      out.printf(Locale.ROOT, "| %s | %.2f s | %.0f | %.2fx | %s |%n", r.what(), r.result().seconds(),
          r.result().files() / r.result().seconds(), r.result().seconds() / ref,
          r.requests() == null ? "-" : r.requests().gets() + " / " + r.requests().heads() + " / " + r.requests().lists());
    }
    out.println();
    out.printf(Locale.ROOT, "epoch 1 with plan / local disk: %.2fx (target <= 1.5x): %s%n", plan1 / local1,
        plan1 / local1 <= 1.5 ? "met" : "MISSED");
    out.printf(Locale.ROOT, "epoch 1 no plan / with plan:    %.2fx (target >= 5x): %s%n", noPlan1 / plan1,
        noPlan1 / plan1 >= 5 ? "met" : "MISSED");
    out.printf(Locale.ROOT, "epoch 2 with plan / local disk: %.2fx (target <= 1.1x): %s%n", plan2 / local2,
        plan2 / local2 <= 1.1 ? "met" : "MISSED");
  }

  /** Optional: real training epochs (the bridge's TrainingRun) on local disk and a cold mount with plans. */
  private void measureTraining(EmbeddedS3Server server, FaultInjectingProxy proxy, Path work, Path local)
      throws Exception {
    DjlEnvironment.configure();
    out.printf(Locale.ROOT, "%nWith training (%s on %s, %d workers, batch %d, 2 epochs):%n", options.trainModel(),
        TrainingRun.device(), options.workers(), options.batch());
    PageCache.drop();
    List<EpochReport> l = new TrainingRun(trainOptions(local, false), DaemonLink.detached(System.err), out, "local")
        .run();
    List<EpochReport> p;
    try (CachedMount m = mount(server, proxy, work, "train-plan")) {
      PageCache.drop();
      p = new TrainingRun(trainOptions(m.mountPoint(), true), m.link(), out, "s3cache plan").run();
    }
    List<EpochReport> np;
    try (CachedMount m = mount(server, proxy, work, "train-noplan")) {
      PageCache.drop();
      np = new TrainingRun(trainOptions(m.mountPoint(), false), m.link(), out, "s3cache no plan").run();
    }
    for (int e = 0; e < 2; e++) {
      out.printf(Locale.ROOT, "training epoch %d: local %.2f s, plan %.2f s (%.2fx), no plan %.2f s (%.2fx)%n", e + 1,
          l.get(e).seconds(), p.get(e).seconds(), p.get(e).seconds() / l.get(e).seconds(), np.get(e).seconds(),
          np.get(e).seconds() / l.get(e).seconds());
    }
  }

  private TrainingRun.Options trainOptions(Path data, boolean plan) {
    return new TrainingRun.Options(data, options.trainModel(), 2, options.batch(), options.workers(), plan,
        options.imageSize(), options.seed(), 0.001f, null);
  }
}
