package io.s3cache.control;

import com.codahale.metrics.MetricRegistry;
import java.util.List;

/**
 * What the daemon offers its clients, independent of transport. The control server maps HTTP
 * requests onto these calls; the daemon implements them. Every failure is a {@link
 * ControlException} carrying an HTTP status and one line for the user.
 */
public interface ControlApi {

  /** Mounts and returns once the mount is live. */
  MountInfo mount(MountRequest request) throws ControlException;

  /** Unmounts; 404 when nothing of ours is mounted there, 409 when busy. */
  void unmount(String mountPoint) throws ControlException;

  List<MountInfo> mounts();

  /**
   * Loads every block under the requested paths into the disk tier, reporting progress to {@code
   * sink} as it goes and a final report with {@code done = true}. Stops early (what was fetched
   * stays cached) when the sink says the client went away.
   */
  void preload(PreloadRequest request, ProgressSink sink) throws ControlException;

  /** @param mountPoint null for the whole daemon */
  StatsSnapshot stats(String mountPoint) throws ControlException;

  /**
   * Installs an epoch plan on the mount holding the paths, in the lane of its name (replacing that
   * lane's plans, or queued behind its active plan as a follow-on), and starts prefetching its first
   * window. 400 no paths, paths in two mounts, or {@code endWithClient} without a client process;
   * 404 a path not under a mount or missing; 409 read-ahead is off.
   *
   * @param clientPid the sending process (SO_PEERCRED on the Unix socket), 0 when unknown (TCP)
   */
  PlanStatus plan(PlanRequest request, int clientPid) throws ControlException;

  /** Every plan (active, queued, and the last ended ones) of one mount, or of all when null. */
  PlanList plans(String mountPoint) throws ControlException;

  /** The plan with this id; 404 when unknown. */
  PlanStatus planStatus(String id) throws ControlException;

  /**
   * Ends the plan with this id (its follow-on takes over) and returns its final figures; 404 when
   * unknown.
   */
  PlanStatus endPlan(String id) throws ControlException;

  /** Ends the mount's plans of lane {@code name} (all lanes when null); returns their final figures. */
  PlanList endPlans(String mountPoint, String name) throws ControlException;

  /** Drops every cached block of the objects under the given mounted paths. */
  EvictResult evict(EvictRequest request) throws ControlException;

  /**
   * Forgets cached metadata at or under the given mounted paths and asks S3 again (new objects
   * appear, replaced ones show their new size and version, deleted ones go), also in the kernel's
   * caches. Cached blocks are kept: they belong to object versions and cannot go stale.
   */
  RefreshResult refresh(RefreshRequest request) throws ControlException;

  /**
   * Replaces a live mount's credentials (its requests sign with them from the next one on); 404 when
   * nothing of ours is mounted there, 400 without usable credentials.
   */
  CredentialsResult credentials(CredentialsRequest request) throws ControlException;

  Health health();

  /** The registry behind GET /metrics. */
  MetricRegistry metrics();

  /** Unmounts everything and stops the daemon (after the reply is sent). */
  void shutdown();

  /** Where preload progress goes: the control server streams each report as one JSON line. */
  interface ProgressSink {
    void send(PreloadProgress progress);

    /** True once the client has disconnected: the preload should stop. */
    boolean cancelled();
  }
}
