package io.s3cache.daemon;

import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Snapshot;
import io.s3cache.cache.BlockKey;
import io.s3cache.cache.CacheStats;
import io.s3cache.config.ByteSize;
import io.s3cache.config.ConfigException;
import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import io.s3cache.control.ControlApi;
import io.s3cache.control.ControlException;
import io.s3cache.control.EvictRequest;
import io.s3cache.control.EvictResult;
import io.s3cache.control.RefreshRequest;
import io.s3cache.control.RefreshResult;
import io.s3cache.control.Health;
import io.s3cache.control.MountInfo;
import io.s3cache.control.MountRequest;
import io.s3cache.control.PreloadRequest;
import io.s3cache.control.PlanList;
import io.s3cache.control.PlanRequest;
import io.s3cache.control.PlanStatus;
import io.s3cache.control.StatsSnapshot;
import io.s3cache.fuse.Errno;
import io.s3cache.fuse.FsException;
import io.s3cache.plan.ClientProcess;
import io.s3cache.plan.EpochPlan;
import io.s3cache.plan.MountPlans;
import io.s3cache.plan.PlanShare;
import io.s3cache.plan.PlanLimits;
import io.s3cache.plan.PlannedFile;
import io.s3cache.fuse.MountException;
import io.s3cache.metrics.MetricNames;
import io.s3cache.fuse.FsException;
import io.s3cache.mount.BucketMount;
import io.s3cache.mount.CacheRuntime;
import io.s3cache.mount.MountSpec;
import io.s3cache.preload.PreloadTarget;
import io.s3cache.preload.Preloader;
import io.s3cache.preload.ShardSelector;
import io.s3cache.s3.ObjectMeta;
import io.s3cache.s3.RequestCounts;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import io.s3cache.control.MountCredentials;
import io.s3cache.control.CredentialsRequest;
import io.s3cache.control.CredentialsResult;
import io.s3cache.s3.MountCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;

/**
 * The host daemon: one shared cache, any number of mounts, the operations of the control API.
 *
 * <p>Mounts live in a concurrent map keyed by mount point. A mount claims its mount point under
 * {@code this}, mounts without it (bucket checks and FUSE start-up take seconds), then registers
 * under it again; unmount and close hold it throughout. Reads never touch it. A mount that
 * disappears from outside (umount, fusermount -u) is dropped when its FUSE loop ends.
 */
public final class Daemon implements ControlApi, AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(Daemon.class);

  private final Settings base;
  private final CacheRuntime runtime;
  private final MetricRegistry metrics;
  private final AwsCredentialsProvider credentials;
  private final Map<Path, BucketMount> mounts = new ConcurrentHashMap<>();
  /** Requests of mounts that are gone, so the daemon's totals never go down. */
  private final java.util.concurrent.atomic.AtomicReference<RequestCounts> retiredRequests =
      new java.util.concurrent.atomic.AtomicReference<>(RequestCounts.NONE);
  /** Mount points being mounted right now (guarded by this). */
  private final java.util.Set<Path> mounting = new java.util.HashSet<>();
  private final Preloader preloader;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final long started = System.nanoTime();
  private final java.util.concurrent.atomic.AtomicLong planIds = new java.util.concurrent.atomic.AtomicLong();
  /** Shares the prefetch pool between plans: two queued fetches per prefetch thread. */
  private final PlanShare planShare;
  /** Ends plans whose client process exited ({@code plan-watch}, started with the first such plan). */
  private java.util.concurrent.ScheduledExecutorService planWatch; // guarded by this

  /**
   * @param base the daemon's settings (its config file and options): defaults for every mount, and
   *     the daemon-wide ones (cache, socket) every mount must agree with
   * @param credentials null for the SDK's default chain
   */
  public Daemon(Settings base, CacheRuntime runtime, MetricRegistry metrics, AwsCredentialsProvider credentials) {
    this.base = base;
    this.runtime = runtime;
    this.metrics = metrics;
    this.credentials = credentials;
    this.preloader = new Preloader(runtime.cache(), metrics);
    this.planShare = new PlanShare(Math.max(1, 2 * runtime.prefetchThreads()));
  }

  @Override
  public MountInfo mount(MountRequest request) throws ControlException {
    if (request.source() == null || request.mountPoint() == null) {
      throw ControlException.badRequest("a mount needs a source (s3://BUCKET[/PREFIX]) and a mount point");
    }
    // MountCredentials.toString() redacts the secret; the leak test greps this line at debug.
    LOG.debug("mount request: {} at {}, settings {}, options {}, credentials {}", request.source(),
        request.mountPoint(), request.settings(), request.options(), request.credentials());
    Settings settings = base.copy();
    MountSpec spec;
    try {
      for (var e : request.settings().entrySet()) {
        SettingKey key = SettingKey.of(e.getKey())
            .orElseThrow(() -> new ConfigException("unknown setting '" + e.getKey() + "'"));
        if (key.daemonWide() && !sameValue(key, e.getValue(), base.string(key))) {
          throw new ConfigException(key.key() + " is " + base.string(key) + " in the running daemon, not "
              + e.getValue() + ": it applies to every mount; stop the daemon (s3cache shutdown) to change it");
        }
        settings.set(key, e.getValue());
      }
      spec = MountSpec.from(request.source(), Path.of(request.mountPoint()), settings, request.options());
      // Every mount shares the daemon's cache: its cache config is the daemon's.
      spec = spec.withCache(runtime.config());
    } catch (ConfigException | IllegalArgumentException e) {
      throw ControlException.badRequest(e.getMessage());
    }
    // Claim the mount point, then mount without holding the monitor: checking a bucket through
    // retries and starting FUSE can take seconds, and other mounts, unmounts and shutdown must not
    // wait for that.
    synchronized (this) {
      if (stopped.getCount() == 0) {
        throw new ControlException(503, "the daemon is shutting down");
      }
      if (mounts.containsKey(spec.mountPoint()) || !mounting.add(spec.mountPoint())) {
        throw ControlException.conflict("mount point " + spec.mountPoint() + " is already mounted");
      }
    }
    BucketMount mount;
    try {
      mount = BucketMount.attach(spec, runtime, metrics, credentialsFor(spec, request.credentials()));
    } catch (MountException e) {
      throw ControlException.conflict(e.getMessage());
    } finally {
      synchronized (this) {
        mounting.remove(spec.mountPoint());
      }
    }
    synchronized (this) {
      if (stopped.getCount() == 0) {
        mount.close(); // shut down while we were mounting: leave nothing behind
        throw new ControlException(503, "the daemon is shutting down");
      }
      mounts.put(spec.mountPoint(), mount);
    }
    mount.terminated().whenComplete((ok, error) -> dropIfGone(mount));
    LOG.info("mounted s3://{}/{} at {}", spec.bucket(), spec.prefix(), spec.mountPoint());
    return info(mount);
  }

  /** Whether two spellings of a setting mean the same ("16g" and "16G", "/a/b/" and "/a/b"). */
  private static boolean sameValue(SettingKey key, String a, String b) {
    try {
      return switch (key) {
        case RAM_CACHE, DISK_CACHE, DISK_MIN_FREE, BLOCK_SIZE, READ_AHEAD, PREFETCH_MEMORY ->
            ByteSize.parse(key.key(), a) == ByteSize.parse(key.key(), b);
        case CACHE_DIR, LOG_FILE, CONTROL_SOCKET -> a.isBlank() || b.isBlank() ? a.isBlank() && b.isBlank()
            : Path.of(a.trim()).toAbsolutePath().normalize().equals(Path.of(b.trim()).toAbsolutePath().normalize());
        default -> a.trim().equals(b.trim());
      };
    } catch (RuntimeException e) {
      return false;
    }
  }

  /**
   * What a mount signs with: the profile its settings name (the SDK keeps it fresh), else the
   * credentials its request carries (keys, or a profile), else the daemon's own. Never another
   * mount's.
   */
  private MountCredentialsProvider credentialsFor(MountSpec spec, MountCredentials c) throws ControlException {
    if (spec.profile() != null) {
      return MountCredentialsProvider.profile(spec.profile());
    }
    if (c == null || (c.accessKeyId() == null && c.profile() == null)) {
      return credentials == null ? MountCredentialsProvider.defaultChain()
          : MountCredentialsProvider.shared(credentials, "the daemon's credentials");
    }
    if (c.accessKeyId() != null) {
      if (c.secretAccessKey() == null) {
        throw ControlException.badRequest("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
      }
      return MountCredentialsProvider.keys(c.accessKeyId(), c.secretAccessKey(), c.sessionToken());
    }
    return MountCredentialsProvider.profile(c.profile());
  }

  @Override
  public CredentialsResult credentials(CredentialsRequest request) throws ControlException {
    if (request.mountPoint() == null) {
      throw ControlException.badRequest("credentials needs a mount point");
    }
    BucketMount mount = mountAt(request.mountPoint());
    MountCredentials c = request.credentials();
    if (c != null && c.accessKeyId() != null) {
      if (c.secretAccessKey() == null) {
        throw ControlException.badRequest("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
      }
      mount.credentials().replaceWithKeys(c.accessKeyId(), c.secretAccessKey(), c.sessionToken(),
          "keys " + c.accessKeyId() + " from s3cache credentials");
    } else if (c != null && c.profile() != null) {
      mount.credentials().replaceWithProfile(c.profile());
    } else {
      throw ControlException.badRequest("no credentials given: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
          + "(and AWS_SESSION_TOKEN), or name a profile");
    }
    return new CredentialsResult(mount.mountPoint().toString(), mount.credentials().describe());
  }

  private void dropIfGone(BucketMount mount) {
    if (mounts.remove(mount.mountPoint(), mount)) {
      retire(mount);
      LOG.info("{} was unmounted", mount.mountPoint());
      mount.close();
    }
  }

  @Override
  public synchronized void unmount(String mountPoint) throws ControlException {
    BucketMount mount = mounts.get(Path.of(mountPoint).toAbsolutePath().normalize());
    if (mount == null) {
      throw ControlException.notFound(mountPoint + " is not mounted by this s3cache daemon");
    }
    try {
      mount.unmount();
    } catch (MountException e) {
      throw ControlException.conflict(e.getMessage());
    }
    if (mounts.remove(mount.mountPoint(), mount)) {
      retire(mount);
    }
  }

  private void retire(BucketMount mount) {
    RequestCounts gone = mount.requests();
    retiredRequests.updateAndGet(r -> r.plus(gone));
  }

  @Override
  public List<MountInfo> mounts() {
    return mounts.values().stream().map(Daemon::info).sorted((a, b) -> a.mountPoint().compareTo(b.mountPoint()))
        .toList();
  }

  private static MountInfo info(BucketMount m) {
    MountSpec s = m.spec();
    return new MountInfo(s.mountPoint().toString(), "s3://" + s.bucket() + "/" + s.prefix(), s.s3().endpointLabel(),
        m.filesystem().openHandles(), m.requests());
  }

  @Override
  public void preload(PreloadRequest request, ProgressSink sink) throws ControlException {
    if (request.paths().isEmpty()) {
      throw ControlException.badRequest("preload needs at least one path");
    }
    if (request.parallel() < 1 || request.parallel() > 256) {
      throw ControlException.badRequest("parallel must be from 1 to 256, got " + request.parallel());
    }
    ShardSelector shard;
    try {
      shard = request.shardCount() == null ? ShardSelector.ALL
          : new ShardSelector(request.shardIndex() == null ? -1 : request.shardIndex(), request.shardCount());
    } catch (IllegalArgumentException e) {
      throw ControlException.badRequest(e.getMessage());
    }
    List<PreloadTarget> targets = new ArrayList<>();
    for (String p : request.paths()) {
      targets.add(resolve(p));
    }
    preloader.run(targets, shard, request.parallel(), request.dryRun(), sink);
  }

  @Override
  public StatsSnapshot stats(String mountPoint) throws ControlException {
    List<MountInfo> selected = mounts();
    if (mountPoint != null) {
      Path mp = Path.of(mountPoint).toAbsolutePath().normalize();
      selected = selected.stream().filter(m -> Path.of(m.mountPoint()).equals(mp)).toList();
      if (selected.isEmpty()) {
        throw ControlException.notFound(mountPoint + " is not mounted by this s3cache daemon");
      }
    }
    RequestCounts requests = retiredRequests.get();
    for (BucketMount m : mounts.values()) {
      requests = requests.plus(m.requests());
    }
    CacheStats c = runtime.cache().stats();
    Snapshot gets = metrics.timer(MetricNames.S3_GET).getSnapshot();
    long prefetched = metrics.counter(MetricNames.PREFETCH_BYTES).getCount();
    long unused = metrics.counter(MetricNames.PREFETCH_UNUSED_BYTES).getCount();
    return new StatsSnapshot(c.ramHits(), c.ramMisses(), c.diskHits(), c.diskMisses(), c.diskErrors(),
        metrics.counter(MetricNames.S3_BYTES).getCount(), metrics.counter(MetricNames.FUSE_BYTES_READ).getCount(),
        prefetched, unused, prefetched == 0 ? 0 : Math.max(0, prefetched - unused) / (double) prefetched,
        metrics.timer(MetricNames.S3_GET).getCount(), gets.getMedian() / 1e6, gets.get99thPercentile() / 1e6,
        c.ramBytes(), runtime.config().ramCacheBytes(), c.diskBytes(), c.diskCapBytes(), selected,
        metrics.counter(MetricNames.FUSE_BLOCKS_READ).getCount(), metrics.counter(MetricNames.FUSE_BLOCKS_FETCHED).getCount(),
        metrics.counter(MetricNames.PLAN_PREFETCH_BYTES).getCount(), metrics.counter(MetricNames.PLAN_ONDEMAND_GETS).getCount(),
        requests);
  }

  @Override
  public PlanStatus plan(PlanRequest request, int clientPid) throws ControlException {
    if (request.paths().isEmpty()) {
      throw ControlException.badRequest("a plan needs at least one path");
    }
    if (runtime.prefetcher() == null) {
      throw ControlException.conflict("epoch plans need read-ahead: read_ahead is 0 in this daemon");
    }
    String name = request.laneName();
    if (name.isEmpty() || name.length() > 200 || name.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
      throw ControlException.badRequest("plan name must be 1 to 200 printable characters, got \"" + name + "\"");
    }
    boolean endWithClient = Boolean.TRUE.equals(request.endWithClient());
    if (endWithClient && clientPid <= 0) {
      throw ControlException.badRequest("endWithClient needs the control socket (the daemon reads the client's "
          + "pid from it); this connection has none");
    }
    PlanLimits limits;
    try {
      PlanLimits d = PlanLimits.defaults();
      limits = new PlanLimits(request.window() == null ? d.windowFiles() : request.window(),
          request.windowBytes() == null ? d.windowBytes() : request.windowBytes(),
          request.wholeFileBytes() == null ? d.wholeFileBytes() : request.wholeFileBytes(), d.headBlocks());
    } catch (IllegalArgumentException e) {
      throw ControlException.badRequest(e.getMessage());
    }
    BucketMount mount = PathResolver.mountOf(request.paths().get(0), List.copyOf(mounts.values()));
    List<String> fsPaths = new ArrayList<>(request.paths().size());
    for (String p : request.paths()) {
      fsPaths.add(PathResolver.fsPath(p, mount));
    }
    List<PlannedFile> files = new ArrayList<>(fsPaths.size());
    try {
      List<ObjectMeta> metas = mount.filesystem().resolveFiles(fsPaths, request.paths());
      for (int i = 0; i < fsPaths.size(); i++) {
        files.add(new PlannedFile(fsPaths.get(i), metas.get(i)));
      }
    } catch (FsException e) {
      throw e.errno() == Errno.ENOENT ? ControlException.notFound("plan: " + e.getMessage())
          : ControlException.badRequest("plan: " + e.getMessage());
    }
    ClientProcess client = endWithClient ? ClientProcess.of(clientPid) : null;
    EpochPlan plan = new EpochPlan(new EpochPlan.Identity("p" + planIds.incrementAndGet(), name, client),
        mount.mountPoint().toString(), mount.spec().bucket(), request.epoch(), files, runtime.cache().blockSize(),
        limits, (key, length, done) -> runtime.prefetcher().start(key, length, mount.blocks(), done), // its own client
        planShare, metrics.counter(MetricNames.PLAN_PREFETCH_BLOCKS), metrics.counter(MetricNames.PLAN_PREFETCH_BYTES));
    boolean next = Boolean.TRUE.equals(request.next());
    mount.plans().install(plan, next);
    if (client != null) {
      watchPlanClients();
    }
    metrics.counter(MetricNames.PLAN_PLANS).inc();
    LOG.info("epoch plan {} ({} \"{}\", epoch {}{}) on {}: {} files", plan.identity().id(),
        next ? "follow-on in" : "lane", name, request.epoch(), client == null ? "" : ", client pid " + clientPid,
        mount.mountPoint(), files.size());
    return plan.status();
  }

  @Override
  public PlanList plans(String mountPoint) throws ControlException {
    List<PlanStatus> all = new ArrayList<>();
    for (BucketMount m : mountPoint == null ? List.copyOf(mounts.values()) : List.of(mountAt(mountPoint))) {
      for (EpochPlan p : m.plans().all()) {
        all.add(p.status());
      }
    }
    return new PlanList(all);
  }

  @Override
  public PlanStatus planStatus(String id) throws ControlException {
    for (BucketMount m : mounts.values()) {
      EpochPlan plan = m.plans().find(id);
      if (plan != null) {
        return plan.status();
      }
    }
    throw ControlException.notFound("no epoch plan " + id + " in this daemon");
  }

  @Override
  public PlanStatus endPlan(String id) throws ControlException {
    for (BucketMount m : mounts.values()) {
      EpochPlan plan = m.plans().end(id);
      if (plan != null) {
        return plan.status();
      }
    }
    throw ControlException.notFound("no epoch plan " + id + " in this daemon");
  }

  @Override
  public PlanList endPlans(String mountPoint, String name) throws ControlException {
    return new PlanList(mountAt(mountPoint).plans().endAll(name).stream().map(EpochPlan::status).toList());
  }

  /** Starts the {@code plan-watch} thread once: every second it ends plans whose client exited. */
  private synchronized void watchPlanClients() {
    if (planWatch != null || stopped.getCount() == 0) {
      return;
    }
    planWatch = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "plan-watch");
      t.setDaemon(true);
      return t;
    });
    planWatch.scheduleWithFixedDelay(this::endOrphanPlans, 1, 1, java.util.concurrent.TimeUnit.SECONDS);
  }

  private void endOrphanPlans() {
    try {
      for (BucketMount m : mounts.values()) {
        MountPlans plans = m.plans();
        if (!plans.watchesClients()) {
          continue;
        }
        for (EpochPlan p : plans.endOrphans()) {
          ClientProcess c = p.identity().client();
          LOG.info("epoch plan {} (\"{}\") on {} ended: its client process {} exited", p.identity().id(),
              p.identity().name(), m.mountPoint(), c == null ? "?" : c.pid());
        }
      }
    } catch (RuntimeException e) {
      LOG.warn("checking epoch plans' client processes failed: {}", e.toString());
    }
  }

  private BucketMount mountAt(String mountPoint) throws ControlException {
    BucketMount mount = mounts.get(Path.of(mountPoint).toAbsolutePath().normalize());
    if (mount == null) {
      throw ControlException.notFound(mountPoint + " is not mounted by this s3cache daemon");
    }
    return mount;
  }

  @Override
  public EvictResult evict(EvictRequest request) throws ControlException {
    if (request.paths().isEmpty()) {
      throw ControlException.badRequest("evict needs at least one path");
    }
    long objects = 0;
    long blocks = 0;
    long bytes = 0;
    int blockSize = runtime.cache().blockSize();
    for (String p : request.paths()) {
      PreloadTarget target = resolve(p);
      for (ObjectMeta o : PathResolver.objects(target)) {
        objects++;
        for (long i = 0; i * blockSize < o.size(); i++) {
          if (runtime.cache().evict(new BlockKey(target.client().bucket(), o.key(), o.etag(), i))) {
            blocks++;
            bytes += Math.min(blockSize, o.size() - i * blockSize);
          }
        }
      }
    }
    return new EvictResult(objects, blocks, bytes);
  }

  @Override
  public RefreshResult refresh(RefreshRequest request) throws ControlException {
    if (request.paths().isEmpty()) {
      throw ControlException.badRequest("refresh needs at least one path");
    }
    List<BucketMount> live = List.copyOf(mounts.values());
    List<Map.Entry<BucketMount, String>> targets = new ArrayList<>();
    for (String p : request.paths()) {
      targets.add(PathResolver.mountPath(p, live)); // all checked before anything is dropped
    }
    long dropped = 0;
    boolean kernel = true;
    for (Map.Entry<BucketMount, String> t : targets) {
      try {
        BucketMount.Refreshed r = t.getKey().refresh(t.getValue());
        dropped += r.dropped();
        kernel &= r.kernelNotified();
      } catch (FsException e) {
        throw new ControlException(502, "refresh of " + t.getKey().mountPoint() + t.getValue()
            + " failed: " + e.getMessage());
      }
    }
    LOG.info("refreshed {} ({} cached entries dropped{})", request.paths(), dropped,
        kernel ? "" : "; the kernel keeps its entries until their timeouts");
    return new RefreshResult(targets.size(), dropped, kernel);
  }

  private PreloadTarget resolve(String path) throws ControlException {
    return PathResolver.resolve(path, List.copyOf(mounts.values()));
  }

  /** The shared cache (for tests and the benchmark harness). */
  public io.s3cache.cache.TieredBlockCache cache() {
    return runtime.cache();
  }

  @Override
  public Health health() {
    return new Health("ok", ProcessHandle.current().pid(), Version.current(), mounts.size(),
        (System.nanoTime() - started) / 1_000_000_000L);
  }

  @Override
  public MetricRegistry metrics() {
    return metrics;
  }

  @Override
  public void shutdown() {
    LOG.info("shutdown requested");
    close();
  }

  /** Blocks until the daemon has been shut down. */
  public void awaitShutdown() throws InterruptedException {
    stopped.await();
  }

  /** Unmounts everything (lazily if busy) and releases the cache. Idempotent. */
  @Override
  public synchronized void close() {
    if (stopped.getCount() == 0) {
      return;
    }
    if (planWatch != null) {
      planWatch.shutdownNow();
    }
    for (BucketMount m : List.copyOf(mounts.values())) {
      mounts.remove(m.mountPoint());
      m.close();
    }
    try {
      runtime.close();
    } catch (Exception e) {
      LOG.warn("closing the cache failed: {}", e.toString());
    }
    stopped.countDown();
  }
}
