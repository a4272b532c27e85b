package io.s3cache.control;

import com.codahale.metrics.MetricRegistry;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.locks.LockSupport;

/**
 * A ControlApi that records its calls and answers with fixed records. {@link #failures} makes a
 * call throw (keyed by method name: "mount", "unmount", "preload", "stats", "evict"); {@link
 * #preloadFailsAfterLines} makes a preload throw after streaming; {@link #crash} makes every call
 * throw an unexpected exception.
 */
final class FakeControlApi implements ControlApi {

  static final MountInfo MOUNT_A = new MountInfo("/mnt/a", "s3://bucket-a/prefix", "https://s3.amazonaws.com", 2,
      new io.s3cache.s3.RequestCounts(5, 1, 2, 0, 0, 0, 1));

  final List<String> calls = Collections.synchronizedList(new ArrayList<>());
  final Map<String, ControlException> failures = new ConcurrentHashMap<>();
  final MetricRegistry registry = new MetricRegistry();
  final CompletableFuture<Void> shutdownCalled = new CompletableFuture<>();
  final CountDownLatch preloadWaiting = new CountDownLatch(1);
  final CountDownLatch preloadSawCancel = new CountDownLatch(1);
  volatile int preloadLines = 3;
  volatile boolean preloadWaitsForCancel;
  volatile ControlException preloadFailsAfterLines;
  volatile RuntimeException crash;

  @Override
  public MountInfo mount(MountRequest request) throws ControlException {
    enter("mount " + request.source() + " " + request.mountPoint() + " " + request.settings() + " " + request.options());
    return new MountInfo(request.mountPoint(), request.source(), "http://127.0.0.1:9000", 0);
  }

  @Override
  public void unmount(String mountPoint) throws ControlException {
    enter("unmount " + mountPoint);
  }

  @Override
  public List<MountInfo> mounts() {
    crashIfAsked();
    calls.add("mounts");
    return List.of(MOUNT_A);
  }

  @Override
  public void preload(PreloadRequest request, ProgressSink sink) throws ControlException {
    enter("preload " + request.paths() + " parallel=" + request.parallel());
    int n = preloadLines;
    for (int i = 1; i <= n; i++) {
      sink.send(progress(i, n, false));
    }
    if (preloadWaitsForCancel) {
      preloadWaiting.countDown();
      // Stands in for a preload that checks for cancellation between block fetches.
      while (!sink.cancelled()) {
        LockSupport.parkNanos(1_000_000);
      }
      preloadSawCancel.countDown();
      return;
    }
    if (preloadFailsAfterLines != null) {
      throw preloadFailsAfterLines;
    }
    sink.send(progress(n, n, true));
  }

  static PreloadProgress progress(int i, int n, boolean done) {
    return new PreloadProgress(done ? "done" : "fetching", n, n * 100L, i, i * 100L, i * 50L,
        done ? List.of("k/broken: 403 Forbidden") : List.of(), null, done);
  }

  @Override
  public StatsSnapshot stats(String mountPoint) throws ControlException {
    enter("stats " + mountPoint);
    return new StatsSnapshot(1, 2, 3, 4, 5, 6, 7, 8, 9, 0.5, 10, 1.5, 20.25, 11, 12, 13, 14, List.of(MOUNT_A), 15, 16, 17, 18,
        new io.s3cache.s3.RequestCounts(19, 20, 21, 22, 23, 24, 25));
  }

  @Override
  public PlanStatus plan(PlanRequest request, int clientPid) throws ControlException {
    enter("plan " + request.epoch() + " " + request.paths() + " " + request.laneName() + " pid " + (clientPid > 0));
    return new PlanStatus("p1", request.laneName(), "/mnt/a", request.epoch(), request.paths().size(), 0, 0, 0, 0, 0,
        0, 0, true, "active", Boolean.TRUE.equals(request.endWithClient()) ? clientPid : 0);
  }

  @Override
  public PlanList plans(String mountPoint) throws ControlException {
    enter("plans " + mountPoint);
    return new PlanList(List.of(planStatus("p1")));
  }

  @Override
  public PlanStatus planStatus(String id) throws ControlException {
    enter("planStatus " + id);
    return new PlanStatus(id, "default", "/mnt/a", 1, 10, 5, 8, 1, 7, 700, 0, 0, true, "active", 0);
  }

  @Override
  public PlanStatus endPlan(String id) throws ControlException {
    enter("endPlan " + id);
    return new PlanStatus(id, "default", "/mnt/a", 1, 10, 10, 10, 0, 10, 1000, 0, 0, false, "ended", 0);
  }

  @Override
  public PlanList endPlans(String mountPoint, String name) throws ControlException {
    enter("endPlans " + mountPoint + " " + name);
    return new PlanList(List.of(endPlan("p1")));
  }

  @Override
  public EvictResult evict(EvictRequest request) throws ControlException {
    enter("evict " + request.paths());
    return new EvictResult(request.paths().size(), 10, 10 << 20);
  }

  @Override
  public RefreshResult refresh(RefreshRequest request) throws ControlException {
    enter("refresh " + request.paths());
    return new RefreshResult(request.paths().size(), 3, true);
  }

  @Override
  public CredentialsResult credentials(CredentialsRequest request) throws ControlException {
    throw ControlException.notFound(request.mountPoint() + " is not mounted by this s3cache daemon");
  }

  @Override
  public Health health() {
    crashIfAsked();
    calls.add("health");
    return new Health("ok", 4242, "0.1.0-test", 1, 77);
  }

  @Override
  public MetricRegistry metrics() {
    return registry;
  }

  @Override
  public void shutdown() {
    calls.add("shutdown");
    shutdownCalled.complete(null);
  }

  private void enter(String call) throws ControlException {
    crashIfAsked();
    calls.add(call);
    ControlException failure = failures.get(call.substring(0, call.indexOf(' ')));
    if (failure != null) {
      throw failure;
    }
  }

  private void crashIfAsked() {
    if (crash != null) {
      throw crash;
    }
  }
}
