package io.s3cache.bench;

import io.s3cache.config.ByteSize;
import io.s3cache.control.ControlClient;
import io.s3cache.control.PlanRequest;
import io.s3cache.s3.RequestCounts;
import io.s3cache.testing.data.PageCache;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * {@code s3cache bench}: s3cache as users meet it, beside local disk and peer tools, in one run.
 * The S3 server runs in a process of its own ({@link ServerProcess}), each s3cache daemon is started
 * by {@code bin/s3cache mount} ({@link DaemonProcess}), each reader is a process of its own (dd,
 * a Python reader, fio), and the headline rows have a RAM tier smaller than the data read. Prints
 * issue 14's target table, the S3 requests of each phase, and optionally a JFR CPU breakdown.
 *
 * <p>Row groups ({@code --only}): cold, warm, small, random (one daemon with the small RAM tier,
 * plus s3fs), fit (a daemon whose RAM tier holds the big file), plan (preload and epoch-plan
 * prefetch through the +latency proxy), epoch (two epochs of many small files through the proxy,
 * default settings but a short metadata_ttl), floor (the FUSE floor alone, against local disk; it is
 * measured with warm and fit too, before the S3 server starts: {@link FloorReference}).
 */
public final class UserBenchmark {

  /** Every row group, in the order they run. */
  public static final Set<String> GROUPS = Set.of("cold", "warm", "small", "random", "fit", "plan", "epoch",
      "floor");

  /** What to run. */
  public record Options(Path workDir, long bigSize, int smallFiles, List<String> peers, Set<String> only,
      String ramCache, String fitRamCache, String diskCache, int planObjects, int planPasses, int epochFiles,
      int latencyMillis,
      String epochTtl, int fioSeconds, int repeat, Path profileDir, String daemonJavaOpts) {}

  private static final String BUCKET = "bench";

  private final Options o;
  private final PrintStream out;
  private final RatioTable table = new RatioTable();
  private final Map<String, RequestCounts> requests = new LinkedHashMap<>();
  private final List<String> notes = new ArrayList<>();
  /** The FUSE floor of the warm and fit rows; null when neither (nor floor) runs. */
  private FloorReference floor;
  /** Local disk's figures as the warm and fit rows measured them, for floor ÷ local disk; NaN if not. */
  private double localSeq = Double.NaN;
  private double localSmall = Double.NaN;
  private double localCached = Double.NaN;

  public UserBenchmark(Options options, PrintStream out) {
    this.o = options;
    this.out = out;
  }

  private boolean any(String... groups) {
    for (String g : groups) {
      if (o.only().contains(g)) {
        return true;
      }
    }
    return false;
  }

  public void run() throws Exception {
    Path work = WorkDir.prepare(o.workDir());
    Path local = work.resolve("local");
    boolean big = any("cold", "warm", "small", "random", "fit");
    out.printf("generating %d MiB + %d small files, %d plan objects, %d epoch files under %s%n",
        big || any("floor") ? o.bigSize() >> 20 : 0, any("warm", "small", "floor") ? o.smallFiles() : 0,
        any("plan") ? 2 * o.planObjects() : 0, any("epoch") ? o.epochFiles() : 0, local);
    BenchData data = BenchData.create(local, big || any("floor") ? o.bigSize() : 0,
        any("warm", "small", "floor") ? o.smallFiles() : 0, 1);
    SplittableRandom random = new SplittableRandom(2);
    List<String> plan = any("plan") ? BenchData.writeFiles(local, "plan", 2 * o.planObjects(), 100 << 10, 100 << 10,
        random) : List.of();
    List<String> epoch = any("epoch") ? BenchData.writeFiles(local, "epoch", o.epochFiles(), 20 << 10, 180 << 10,
        random) : List.of();
    if (any("warm", "fit", "floor")) {
      // Before the S3 server and any daemon start: the floor has the machine to itself.
      floor = FloorReference.measure(data, work.resolve("floorfs"), o.repeat(), any("warm", "floor"),
          any("fit", "floor"), out);
    }
    if (any("floor") && !any("warm", "fit")) {
      Path bigLocal = data.localRoot.resolve("big.bin");
      localSeq = best(() -> dropped(() -> Measure.sequential(bigLocal))).mbPerSecond();
      localCached = best(() -> Measure.sequential(bigLocal)).mbPerSecond();
      localSmall = best(() -> dropped(() -> Measure.files(data.shuffledSmall(data.localRoot)))).filesPerSecond();
    }
    if (!o.only().stream().allMatch("floor"::equals)) {
      serverGroups(data, work, plan, epoch);
    }
    if (floor != null) {
      notes.addAll(floor.notes(localSeq, localSmall, localCached));
    }
    report();
  }

  /** Every group but the floor: the S3 server in its own process, the data uploaded, then each group. */
  private void serverGroups(BenchData data, Path work, List<String> plan, List<String> epoch) throws Exception {
    Path local = data.localRoot;
    boolean big = any("cold", "warm", "small", "random", "fit");
    try (ServerProcess server = ServerProcess.start(Files.createDirectories(work.resolve("s3")), o.latencyMillis(),
        work.resolve("s3-server.log"))) {
      server.client().createBucket(b -> b.bucket(BUCKET));
      data.upload(server.client(), BUCKET);
      BenchData.upload(server.client(), BUCKET, local, plan);
      BenchData.upload(server.client(), BUCKET, local, epoch);
      out.printf("S3 server (pid %d) at %s, +%d ms proxy at %s%n", server.pid(), server.endpoint(), o.latencyMillis(),
          server.proxy());
      if (any("cold", "warm", "small", "random")) {
        largerThanRam(server, data, work);
      }
      if (any("fit")) {
        fitsInRam(server, data, work);
      }
      if (any("plan")) {
        planAndPreload(server, plan, work);
      }
      if (any("epoch")) {
        epochs(server, epoch, work);
      }
      if (o.profileDir() != null && big) {
        new ProfileRun(server.endpoint(), BUCKET, o.ramCache(), o.diskCache(), work, o.profileDir(),
            o.daemonJavaOpts(), out).run();
      }
    }
  }

  /** The headline daemon: RAM tier smaller than the big file; cold, warm, small files, random reads. */
  private void largerThanRam(ServerProcess server, BenchData data, Path work) throws Exception {
    Path bigLocal = data.localRoot.resolve("big.bin");
    double gib = o.bigSize() / (double) (1L << 30);
    String size = (o.bigSize() >> 20) + " MiB";
    Measure.Result localSeq = any("warm") ? best(() -> dropped(() -> Measure.sequential(bigLocal))) : null;
    Measure.Result localSmall = any("warm") ? best(() -> dropped(() -> Measure.files(data.shuffledSmall(data.localRoot))))
        : null;
    Measure.Result localSmallCold = null;
    Measure.Result endpoint = null;
    if (any("cold")) {
      out.println("measuring the endpoint's 8-way ranged GETs (curl, SDK) ...");
      Measure.Result curl = null;
      try {
        curl = EndpointRate.curl(server.endpoint(), BUCKET, "big.bin", o.bigSize());
      } catch (java.io.IOException e) {
        notes.add("8 curl processes failed (" + e.getMessage() + "): the endpoint row uses s3cache's GET client only");
      }
      Measure.Result sdk = EndpointRate.sdk(server.endpoint(), BUCKET, "big.bin");
      notes.add(String.format(Locale.ROOT, "endpoint 8-way 8 MiB ranged GETs: curl %s MB/s, s3cache's GET client %s MB/s",
          curl == null ? "n/a" : RatioTable.number(curl.mbPerSecond()), RatioTable.number(sdk.mbPerSecond())));
      endpoint = curl != null && curl.nanos() < sdk.nanos() ? curl : sdk;
    }
    out.printf("s3cache: bin/s3cache mount --ram-cache %s --disk-cache %s ...%n", o.ramCache(), o.diskCache());
    Measure.Result cold;
    double cpu;
    long rss;
    Measure.Result smallCold = null;
    Measure.Result warm = null;
    Measure.Result smallWarm = null;
    Measure.Fio[] fio = new Measure.Fio[2];
    try (DaemonProcess d = DaemonProcess.mount(server.endpoint(), BUCKET, work.resolve("s3cache-small-ram"),
        new DaemonProcess.Config(o.ramCache(), o.diskCache(), "indefinite", javaOpts(null)))) {
      Path mnt = d.mountPoint();
      RequestCounts before = d.requests();
      PageCache.drop();
      double cpu0 = d.cpuSeconds();
      try (ProcStatus.PeakSampler rssPeak = new ProcStatus.PeakSampler(d.pid())) {
        cold = Measure.sequential(mnt.resolve("big.bin"));
        rss = rssPeak.peak();
      }
      cpu = (d.cpuSeconds() - cpu0) / gib;
      before = phase("cold " + size + " sequential", d, before);
      if (any("small", "warm")) {
        smallCold = dropped(() -> Measure.files(data.shuffledSmall(mnt)));
        before = phase("cold small files", d, before);
      }
      if (any("warm", "random")) {
        double warm0 = d.cpuSeconds();
        warm = best(() -> dropped(() -> Measure.sequential(mnt.resolve("big.bin"))));
        notes.add(String.format(Locale.ROOT, "s3cache warm %s sequential from the disk tier: %.2f daemon CPU-s/GiB",
            size, (d.cpuSeconds() - warm0) / gib / o.repeat()));
        before = phase("warm " + size + " sequential x" + o.repeat(), d, before);
      }
      if (any("warm")) {
        smallWarm = best(() -> dropped(() -> Measure.files(data.shuffledSmall(mnt))));
        before = phase("warm small files x" + o.repeat(), d, before);
      }
      if (any("random")) {
        for (int i = 0; i < 2; i++) {
          PageCache.drop();
          fio[i] = Measure.fio(mnt.resolve("big.bin"), i == 0 ? 128 << 10 : 16 << 10, 4, o.fioSeconds());
        }
        phase("fio randread 128K + 16K", d, before);
      }
    }
    Measure.Result s3fsCold = null;
    Measure.Result s3fsSmall = null;
    double s3fsCpu = Double.NaN;
    Measure.Result s3fsWarm = null;
    Measure.Result s3fsSmallWarm = null;
    for (String peer : o.peers()) {
      if (!any("cold", "small", "warm")) {
        break;
      }
      if (!PeerMount.installed(peer)) {
        notes.add(peer + " is not installed: its rows are n/a (S3CACHE_WITH_PEERS=1 bin/install-deps)");
        continue;
      }
      out.printf("%s: cold %s and cold small files ...%n", peer, size);
      try (PeerMount m = peer.equals("s3fs") ? PeerMount.s3fs(server.endpoint(), BUCKET, work)
          : PeerMount.rclone(server.endpoint(), BUCKET, work)) {
        PageCache.drop();
        double c0 = CpuTime.seconds(m.pid());
        Measure.Result r = Measure.sequential(m.mountPoint().resolve("big.bin"));
        double c = (CpuTime.seconds(m.pid()) - c0) / gib;
        Measure.Result s = any("small", "warm") ? dropped(() -> Measure.files(data.shuffledSmall(m.mountPoint()))) : null;
        notes.add(String.format(Locale.ROOT, "%s: cold %s %s MB/s at %.2f CPU-s/GiB; cold small files %s files/s",
            peer, size, RatioTable.number(r.mbPerSecond()), c, s == null ? "n/a" : RatioTable.number(s.filesPerSecond())));
        if (peer.equals("s3fs")) {
          s3fsCold = r;
          s3fsSmall = s;
          s3fsCpu = c;
          if (any("warm")) {
            // The same reads from s3fs's own disk cache (use_cache), page cache dropped: what a
            // FUSE filesystem over local files reaches on this machine, the bound below local disk.
            s3fsWarm = best(() -> dropped(() -> Measure.sequential(m.mountPoint().resolve("big.bin"))));
            s3fsSmallWarm = best(() -> dropped(() -> Measure.files(data.shuffledSmall(m.mountPoint()))));
          }
        }
      }
    }
    if (any("warm")) {
      table.add("warm " + size + " sequential, RAM tier " + o.ramCache() + " < file, page cache dropped",
          warm.mbPerSecond(), "MB/s", localSeq.mbPerSecond(), "local disk", RatioTable.Goal.atLeast(0.9));
      table.add("warm shuffled small files (" + o.smallFiles() + ") after a larger-than-RAM read",
          smallWarm.filesPerSecond(), "files/s", localSmall.filesPerSecond(), "local disk", RatioTable.Goal.atLeast(0.7));
      table.add("warm " + size + " sequential, RAM tier " + o.ramCache() + " < file, page cache dropped",
          warm.mbPerSecond(), "MB/s", mb(s3fsWarm), "s3fs from its use_cache", RatioTable.Goal.atLeast(1.0));
      table.add("warm shuffled small files (" + o.smallFiles() + ") after a larger-than-RAM read",
          smallWarm.filesPerSecond(), "files/s", s3fsSmallWarm == null ? Double.NaN : s3fsSmallWarm.filesPerSecond(),
          "s3fs from its use_cache", RatioTable.Goal.atLeast(1.0));
      // The bound FUSE itself sets, same readers: held to the local-disk targets.
      table.add("warm " + size + " sequential, RAM tier " + o.ramCache() + " < file, page cache dropped",
          warm.mbPerSecond(), "MB/s", floor.fuse2.seq(), floor.fuse2.reference(floor.fuse2.seq()),
          RatioTable.Goal.atLeast(0.9));
      table.add("warm shuffled small files (" + o.smallFiles() + ") after a larger-than-RAM read",
          smallWarm.filesPerSecond(), "files/s", floor.fuse2.small(), floor.fuse2.reference(floor.fuse2.small()),
          RatioTable.Goal.atLeast(0.7));
      this.localSeq = localSeq.mbPerSecond();
      this.localSmall = localSmall.filesPerSecond();
    }
    if (any("cold")) {
      table.add("cold " + size + " sequential", cold.mbPerSecond(), "MB/s", mb(s3fsCold), "s3fs",
          RatioTable.Goal.atLeast(1.1));
      table.add("cold " + size + " sequential", cold.mbPerSecond(), "MB/s", endpoint.mbPerSecond(),
          "endpoint 8-way ranged GETs", RatioTable.Goal.atLeast(0.8));
    }
    if (any("small")) {
      table.add("cold small files, one reader, no plan", smallCold.filesPerSecond(), "files/s",
          s3fsSmall == null ? Double.NaN : s3fsSmall.filesPerSecond(), "s3fs", RatioTable.Goal.atLeast(1.2));
    }
    if (any("random")) {
      for (int i = 0; i < 2; i++) {
        String bs = i == 0 ? "128 KiB" : "16 KiB";
        PageCache.drop();
        Measure.Fio ref = Measure.fio(bigLocal, i == 0 ? 128 << 10 : 16 << 10, 4, o.fioSeconds());
        table.add("random " + bs + " reads (fio 4 jobs " + o.fioSeconds() + " s), disk tier, RAM tier smaller",
            fio[i].iops(), "IOPS", ref.iops(), "local disk", RatioTable.Goal.atLeast(0.5));
        notes.add(String.format(Locale.ROOT, "fio %s p99: s3cache %.2f ms, local disk %.2f ms", bs, fio[i].p99Millis(),
            ref.p99Millis()));
      }
    }
    if (any("cold")) {
      table.add("daemon CPU per cold GiB", cpu, "CPU-s/GiB", s3fsCpu, "s3fs", RatioTable.Goal.atMost(1.0));
      long ram = ByteSize.parse("--ram-cache", o.ramCache());
      table.add("daemon RSS - RAM tier (" + o.ramCache() + "), peak during the cold read", (rss - ram) / 1048576.0,
          "MiB", Double.NaN, "RSS peak " + (rss >> 20) + " MiB", RatioTable.Goal.valueAtMost(300));
    }
  }

  private static double mb(Measure.Result r) {
    return r == null ? Double.NaN : r.mbPerSecond();
  }

  /** A daemon whose RAM tier holds the big file: warm and page-cache re-reads against local disk. */
  private void fitsInRam(ServerProcess server, BenchData data, Path work) throws Exception {
    Path bigLocal = data.localRoot.resolve("big.bin");
    Measure.Result localWarm = best(() -> dropped(() -> Measure.sequential(bigLocal)));
    Measure.Result localCached = best(() -> Measure.sequential(bigLocal));
    out.printf("s3cache fits in RAM: --ram-cache %s ...%n", o.fitRamCache());
    try (DaemonProcess d = DaemonProcess.mount(server.endpoint(), BUCKET, work.resolve("s3cache-fit"),
        new DaemonProcess.Config(o.fitRamCache(), o.diskCache(), "indefinite", javaOpts(null)))) {
      Path big = d.mountPoint().resolve("big.bin");
      RequestCounts before = d.requests();
      dropped(() -> Measure.sequential(big));
      Measure.Result warm = best(() -> dropped(() -> Measure.sequential(big)));
      Measure.Result cached = best(() -> Measure.sequential(big));
      phase("fits in RAM: cold + warm + page cache", d, before);
      table.add("fits in RAM: warm sequential, page cache dropped", warm.mbPerSecond(), "MB/s", localWarm.mbPerSecond(),
          "local disk", RatioTable.Goal.atLeast(0.95));
      table.add("fits in RAM: page-cache re-read", cached.mbPerSecond(), "MB/s", localCached.mbPerSecond(),
          "local page cache", RatioTable.Goal.atLeast(0.9));
      table.add("fits in RAM: warm sequential, page cache dropped", warm.mbPerSecond(), "MB/s", floor.fuse2.seq(),
          floor.fuse2.reference(floor.fuse2.seq()), RatioTable.Goal.atLeast(0.95));
      table.add("fits in RAM: page-cache re-read", cached.mbPerSecond(), "MB/s", floor.fuse2.cached(),
          floor.fuse2.reference(floor.fuse2.cached()), RatioTable.Goal.atLeast(0.9));
      if (Double.isNaN(this.localSeq)) {
        this.localSeq = localWarm.mbPerSecond();
      }
      this.localCached = localCached.mbPerSecond();
    }
  }

  /**
   * Preload of one half of the 100 KiB objects, then an epoch plan's prefetch of the other half, via
   * the proxy. The preload is asked over the control socket from this JVM and timed from the request
   * to its final report, so no CLI JVM start is in it; beside each rate, the CPU per GET of the
   * daemon, of S3Proxy and of the fault proxy (the latter two share the server process: told apart
   * by thread names), so what bounds the rate is visible on a machine with few cores.
   */
  /** GETs per second of the plan's objects by s3cache's GET client alone (no daemon) in this run; NaN before it is measured. */
  private double endpointSmallGets = Double.NaN;

  private void planAndPreload(ServerProcess server, List<String> plan, Path work) throws Exception {
    out.printf("preload and plan prefetch of %d x 100 KiB objects each %s ...%n", o.planObjects(),
        o.latencyMillis() == 0 ? "straight from S3Proxy" : "through the +" + o.latencyMillis() + " ms proxy");
    String jfr = null;
    if (o.profileDir() != null) { // the daemon's recording, for where its CPU per GET goes
      Path file = Files.createDirectories(o.profileDir()).resolve("plan.jfr").toAbsolutePath();
      Files.deleteIfExists(file);
      jfr = "-XX:StartFlightRecording=filename=" + file + ",settings=profile,dumponexit=true";
      out.printf("the daemon of the preload and plan rows records to %s%n", file);
    }
    // With no latency to add, the daemon talks to S3Proxy directly: the rate of the product alone,
    // without the relay's CPU.
    java.net.URI endpoint = o.latencyMillis() == 0 ? server.endpoint() : server.proxy();
    // The bound in the same run: this JVM's s3cache GET client GETting the plan's objects 32-way through the
    // same endpoint, no daemon (its CPU shares the cores with S3Proxy and the proxy, as the daemon's does).
    double[] endpointCpu = new double[1];
    Measure.Result alone = EndpointRate.smallGets(endpoint, BUCKET, plan.subList(o.planObjects(), plan.size()), 32,
        endpointCpu);
    endpointSmallGets = alone.filesPerSecond();
    notes.add(String.format(Locale.ROOT, "endpoint alone: 32 threads of s3cache's GET client (get_client=direct) in the bench JVM GET the %d "
        + "plan objects %s: %s GET/s (second pass, JIT warm) at %.2f ms CPU per GET of that JVM",
        plan.size() - o.planObjects(), o.latencyMillis() == 0 ? "straight from S3Proxy" : "through the proxy",
        RatioTable.number(alone.filesPerSecond()), endpointCpu[0]));
    try (DaemonProcess d = DaemonProcess.mount(endpoint, BUCKET, work.resolve("s3cache-plan"),
        new DaemonProcess.Config(o.ramCache(), o.diskCache(), "indefinite", javaOpts(jfr)))) {
      List<String> preloadKeys = plan.subList(0, o.planObjects());
      List<String> planKeys = plan.subList(o.planObjects(), plan.size());
      planAndPreloadPass(d, server, preloadKeys, planKeys, 0, "");
      // The same again in the same daemon, its cache of them evicted: the first pass pays for the
      // fresh daemon's JIT compilation (most of its CPU), later ones show the daemon warmer.
      for (int pass = 2; pass <= o.planPasses(); pass++) {
        try (ControlClient c = ControlClient.connect(d.socket())) {
          c.evict(new io.s3cache.control.EvictRequest(List.of(d.mountPoint().resolve("plan").toString())));
        }
        planAndPreloadPass(d, server, preloadKeys, planKeys, pass - 1, ", pass " + pass + " (JIT warmer)");
      }
    }
  }

  private void planAndPreloadPass(DaemonProcess d, ServerProcess server, List<String> preloadKeys,
      List<String> planKeys, long epoch, String pass) throws Exception {
    Path mnt = d.mountPoint();
    RequestCounts before = d.requests();
    double[] cpu = cpu(d, server);
    ThreadCpu.Sampler threads = new ThreadCpu.Sampler(d.pid());
    long start = System.nanoTime();
    try (ControlClient c = ControlClient.connect(d.socket())) {
      io.s3cache.control.PreloadProgress done = c.preload(new io.s3cache.control.PreloadRequest(
          preloadKeys.stream().map(k -> mnt.resolve(k).toString()).toList(), 32, null, null, false), p -> {});
      if (done.error() != null || !done.failed().isEmpty()) {
        throw new IllegalStateException("s3cache preload failed: " + done.error() + " " + done.failed());
      }
    }
    double preloadSeconds = (System.nanoTime() - start) / 1e9;
    double[] preloadCpu = minus(cpu(d, server), cpu);
    threads.close();
    Map<String, Double> preloadThreads = threads.groups(ThreadCpu::daemonGroup);
    RequestCounts afterPreload = phase("preload " + preloadKeys.size() + " objects" + pass, d, before);
    RequestCounts preload = afterPreload.minus(before);
    before = afterPreload;
    try (ControlClient c = ControlClient.connect(d.socket())) {
      cpu = cpu(d, server);
      threads = new ThreadCpu.Sampler(d.pid());
      start = System.nanoTime();
      String planId = c.plan(new PlanRequest(epoch, planKeys.stream().map(k -> mnt.resolve(k).toString()).toList(),
          planKeys.size(), (long) planKeys.size() << 20, null)).id();
      long deadline = start + TimeUnit.MINUTES.toNanos(30);
      // The prefetch runs in the daemon: the plan's own status shows progress (until every block
      // is in, or all were issued and none is in flight: a failed one would never come in).
      long polls = 0;
      long inflight = 0;
      for (io.s3cache.control.PlanStatus st = c.planStatus(planId);
          st.prefetchedBlocks() < planKeys.size() && !(st.inflightBlocks() == 0 && st.issuedThrough() >= st.files())
              && System.nanoTime() < deadline; st = c.planStatus(planId)) {
        polls++;
        inflight += st.inflightBlocks(); // the concurrency the prefetch reached
        Thread.sleep(50); // each poll costs the daemon a control request: not too often
      }
      double planSeconds = (System.nanoTime() - start) / 1e9;
      double[] planCpu = minus(cpu(d, server), cpu);
      threads.close();
      if (System.nanoTime() >= deadline) {
        notes.add("plan prefetch: the 30-minute deadline passed before every planned object was fetched");
      }
      c.endPlan(planId);
      RequestCounts planned = phase("plan prefetch " + planKeys.size() + " objects" + pass, d, before).minus(before);
      table.add("preload of 100 KiB objects, +" + o.latencyMillis() + " ms/request" + pass,
          preload.get() / preloadSeconds, "GET/s", Double.NaN,
          preload.get() + " GETs in " + String.format(Locale.ROOT, "%.1f s", preloadSeconds),
          RatioTable.Goal.valueAtLeast(1000));
      table.add("plan prefetch of 100 KiB objects, +" + o.latencyMillis() + " ms/request" + pass,
          planned.get() / planSeconds, "GET/s", Double.NaN,
          planned.get() + " GETs in " + String.format(Locale.ROOT, "%.1f s", planSeconds),
          RatioTable.Goal.valueAtLeast(1000));
      table.add("preload of 100 KiB objects" + pass, preload.get() / preloadSeconds, "GET/s", endpointSmallGets,
          "endpoint alone, s3cache's GET client 32-way", RatioTable.Goal.atLeast(0.8));
      table.add("plan prefetch of 100 KiB objects" + pass, planned.get() / planSeconds, "GET/s", endpointSmallGets,
          "endpoint alone, s3cache's GET client 32-way", RatioTable.Goal.atLeast(0.8));
      notes.add(cpuNote("preload" + pass, preloadCpu, preloadThreads, preload.get()));
      notes.add(cpuNote("plan prefetch" + pass, planCpu, threads.groups(ThreadCpu::daemonGroup), planned.get())
          + String.format(Locale.ROOT, "; on average %.0f blocks issued and not done (queued for the prefetch "
              + "threads or fetching: above their number, all of them were busy)",
              polls == 0 ? 0.0 : inflight / (double) polls));
    }
  }

  /** The daemons' JVM options: {@code --daemon-java-opts}, then {@code extra}; null for none. */
  private String javaOpts(String extra) {
    return join(o.daemonJavaOpts(), extra);
  }

  static String join(String a, String b) {
    return a == null ? b : b == null ? a : a + " " + b;
  }

  /** CPU seconds so far: the daemon, S3Proxy (the server process but its proxy), the fault proxy. */
  private static double[] cpu(DaemonProcess d, ServerProcess server) {
    return new double[] {d.cpuSeconds(), ThreadCpu.seconds(server.pid(), n -> !ThreadCpu.proxy(n)),
        ThreadCpu.seconds(server.pid(), ThreadCpu::proxy)};
  }

  private static double[] minus(double[] a, double[] b) {
    double[] d = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      d[i] = a[i] - b[i];
    }
    return d;
  }

  private static String cpuNote(String what, double[] cpu, Map<String, Double> daemonThreads, long gets) {
    double ms = 1e3 / gets;
    StringBuilder byThread = new StringBuilder();
    daemonThreads.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed())
        .forEach(e -> byThread.append(byThread.length() == 0 ? "" : ", ")
            .append(String.format(Locale.ROOT, "%s %.2f", e.getKey(), e.getValue() * ms)));
    return String.format(Locale.ROOT, "%s: CPU per GET: daemon %.2f ms (by thread: %s), S3Proxy %.2f ms, "
        + "fault proxy %.2f ms (%d GETs)", what, cpu[0] * ms, byThread, cpu[1] * ms, cpu[2] * ms, gets);
  }

  /** Two epochs of many small files through the proxy, default settings but metadata_ttl; epoch 2 vs local disk. */
  private void epochs(ServerProcess server, List<String> epoch, Path work) throws Exception {
    Measure.Result local = best(() -> dropped(() -> Measure.files(BenchData.shuffled(work.resolve("local"), epoch))));
    out.printf("two epochs of %d small files, default settings, metadata_ttl=%s, +%d ms proxy ...%n", epoch.size(),
        o.epochTtl(), o.latencyMillis());
    try (DaemonProcess d = DaemonProcess.mount(server.proxy(), BUCKET, work.resolve("s3cache-epoch"),
        new DaemonProcess.Config(null, null, o.epochTtl(), javaOpts(null)))) {
      List<Path> files = BenchData.shuffled(d.mountPoint(), epoch);
      RequestCounts before = d.requests();
      Measure.Result first = dropped(() -> Measure.files(files));
      long ttlMillis = io.s3cache.config.DurationValue.parse("--epoch-ttl", o.epochTtl()).toMillis();
      long wait = ttlMillis + 1000 - first.nanos() / 1_000_000;
      if (wait > 0) {
        notes.add(String.format(Locale.ROOT, "epoch 1 took %.1f s, shorter than metadata_ttl %s: waited %.1f s more",
            first.seconds(), o.epochTtl(), wait / 1e3));
        Thread.sleep(wait);
      }
      before = phase("epoch 1 (" + String.format(Locale.ROOT, "%.1f s", first.seconds()) + ")", d, before);
      Measure.Result second = dropped(() -> Measure.files(files));
      phase("epoch 2", d, before);
      table.add("warm 2nd epoch of " + epoch.size() + " small files, default settings, metadata_ttl " + o.epochTtl()
          + " < epoch 1, +" + o.latencyMillis() + " ms", second.filesPerSecond(), "files/s", local.filesPerSecond(),
          "local disk", RatioTable.Goal.atLeast(0.9));
    }
  }

  private RequestCounts phase(String name, DaemonProcess d, RequestCounts before) throws Exception {
    RequestCounts now = d.requests();
    requests.put(name, now.minus(before));
    return now;
  }

  private interface Run extends Measure.Pass {}

  private static Measure.Result dropped(Run run) throws Exception {
    return Measure.dropped(run);
  }

  private Measure.Result best(Run run) throws Exception {
    return Measure.best(o.repeat(), run);
  }

  private void report() {
    out.println();
    out.println("Targets (issue 14), each against its reference measured in this run:");
    out.println();
    out.print(table.isEmpty() ? "(none: --only floor measures the FUSE floor and local disk alone, in the notes)\n"
        : table.format());
    if (!requests.isEmpty()) {
      out.println();
      out.println("S3 requests by phase (s3cache daemon's GET /stats):");
      out.println();
      out.println("| phase | GET | HEAD | LIST | PUT | other |");
      out.println("|---|---|---|---|---|---|");
      for (var e : requests.entrySet()) {
        RequestCounts r = e.getValue();
        out.printf(Locale.ROOT, "| %s | %d | %d | %d | %d | %d |%n", e.getKey(), r.get(), r.head(), r.list(),
            r.put(), r.copy() + r.delete() + r.other());
      }
    }
    if (!notes.isEmpty()) {
      out.println();
      notes.forEach(n -> out.println("- " + n));
    }
  }
}
