package io.s3cache.bench;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import io.s3cache.embedded.EmbeddedS3Server;
import io.s3cache.embedded.FaultInjectingProxy;
import io.s3cache.embedded.FaultPlan;
import io.s3cache.mount.BucketMount;
import io.s3cache.mount.MountSpec;
import io.s3cache.testing.data.PageCache;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * {@code s3cache bench --faults RATE}: cold reads through s3cache with no faults and with RATE of
 * the S3 requests faulted (every kind of {@link FaultPlan#mixed} in equal shares), in one run, on
 * the same data, through a {@link FaultInjectingProxy} on loopback in both passes. Each pass mounts
 * with a fresh cache; passes alternate so that drift on a shared machine hits both alike.
 */
public final class FaultBenchmark {

  /** What to run; the S3 settings are those of both passes. */
  public record Options(Path workDir, long bigSize, int smallFiles, double rate, int rounds, String requestTimeout,
      int maxAttempts) {}

  private final Options options;
  private final PrintStream out;

  public FaultBenchmark(Options options, PrintStream out) {
    this.options = options;
    this.out = out;
  }

  public void run() throws Exception {
    Path work = WorkDir.prepare(options.workDir());
    out.printf("generating %d MiB + %d small files under %s%n", options.bigSize() >> 20, options.smallFiles(), work);
    BenchData data = BenchData.create(work.resolve("local"), options.bigSize(), options.smallFiles(), 1);
    try (EmbeddedS3Server server = EmbeddedS3Server.start(Files.createDirectories(work.resolve("s3")));
        FaultInjectingProxy proxy = FaultInjectingProxy.start(server.endpoint())) {
      server.createBucket("bench");
      data.upload(server.client(), "bench");
      out.printf(Locale.ROOT, "proxy %s -> S3 %s; request_timeout=%s connect_timeout=1s max_attempts=%d%n",
          proxy.endpoint(), server.endpoint(), options.requestTimeout(), options.maxAttempts());
      Measure.Result[][] results = new Measure.Result[2][4];
      int[] faulted = new int[2];
      int[] requests = new int[2];
      for (int round = 0; round < options.rounds(); round++) {
        for (int pass = 0; pass < 2; pass++) {
          FaultPlan plan = pass == 0 ? FaultPlan.none() : FaultPlan.mixed(options.rate(), 17 + round, Duration.ofMillis(200));
          proxy.plan(plan);
          int before = proxy.requests();
          int faultsBefore = proxy.injectedFaults();
          Path mnt = Files.createDirectories(work.resolve("mnt-" + pass + "-" + round));
          Settings settings = server.mountSettings(work.resolve("cache-" + pass + "-" + round))
              .set(SettingKey.ENDPOINT, proxy.endpoint().toString())
              .set(SettingKey.RAM_CACHE, "1G").set(SettingKey.DISK_CACHE, "4G")
              .set(SettingKey.METADATA_TTL, "indefinite")
              .set(SettingKey.REQUEST_TIMEOUT, options.requestTimeout()).set(SettingKey.CONNECT_TIMEOUT, "1s")
              .set(SettingKey.MAX_ATTEMPTS, Integer.toString(options.maxAttempts()));
          out.printf("round %d: %s ...%n", round + 1, pass == 0 ? "no faults" : "faults");
          try (BucketMount m = BucketMount.open(MountSpec.from("s3://bench", mnt, settings, List.of()),
              new MetricRegistry(), server.credentials())) {
            PageCache.drop();
            keepBest(results[pass], 0, Measure.sequential(mnt.resolve("big.bin")));
            List<Path> small = data.shuffledSmall(mnt);
            PageCache.drop();
            keepBest(results[pass], 1, Measure.files(small));
          }
          requests[pass] += proxy.requests() - before;
          faulted[pass] += proxy.injectedFaults() - faultsBefore;
        }
      }
      proxy.plan(FaultPlan.none());
      report(results, requests, faulted);
    }
  }

  private static void keepBest(Measure.Result[] slot, int i, Measure.Result r) {
    if (slot[i] == null || r.nanos() < slot[i].nanos()) {
      slot[i] = r;
    }
  }

  private void report(Measure.Result[][] r, int[] requests, int[] faulted) {
    out.println();
    out.printf(Locale.ROOT, "Cold reads through s3cache (fresh cache, page cache dropped), best of %d, one run:%n%n",
        options.rounds());
    out.printf(Locale.ROOT, "| %-28s | %16s | %16s | %8s |%n", "read", "no faults", (int) Math.round(options.rate() * 100)
        + "% faulted", "ratio");
    out.println("|------------------------------|------------------|------------------|----------|");
    out.printf(Locale.ROOT, "| %-28s | %11.0f MB/s | %11.0f MB/s | %7.2fx |%n", (options.bigSize() >> 20) + " MiB sequential",
        r[0][0].mbPerSecond(), r[1][0].mbPerSecond(), r[1][0].mbPerSecond() / r[0][0].mbPerSecond());
    out.printf(Locale.ROOT, "| %-28s | %12.0f f/s | %12.0f f/s | %7.2fx |%n", options.smallFiles() + " small files, 1 reader",
        r[0][1].filesPerSecond(), r[1][1].filesPerSecond(), r[1][1].filesPerSecond() / r[0][1].filesPerSecond());
    out.printf(Locale.ROOT, "%nS3 requests: %d without faults; %d with faults, %d of them faulted%n",
        requests[0], requests[1], faulted[1]);
  }
}
