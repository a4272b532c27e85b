package io.s3cache.train;

import io.s3cache.control.ControlClient;
import io.s3cache.control.ControlException;
import io.s3cache.control.PlanRequest;
import io.s3cache.control.PlanStatus;
import io.s3cache.control.PreloadProgress;
import io.s3cache.control.PreloadRequest;
import io.s3cache.control.StatsSnapshot;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/**
 * The trainer's side of the daemon: epoch plans, stats, preload. Training never depends on it:
 * without a daemon, or when the data is not on one of its mounts, it says so once on {@code err}
 * and the trainer goes on without plans (and without cache figures).
 */
public final class DaemonLink implements AutoCloseable {

  private final ControlClient client; // null: no daemon
  private final PrintStream err;
  private boolean plansOff;
  private String planId; // the epoch plan sent, until ended

  private DaemonLink(ControlClient client, PrintStream err) {
    this.client = client;
    this.err = err;
  }

  /** A link to the daemon on {@code socket}, or a detached one (saying why) when none answers. */
  public static DaemonLink connect(Path socket, PrintStream err) {
    ControlClient client = null;
    try {
      // Not isAlive (1 s): a busy daemon's first answer may take longer; a missing socket fails at once.
      client = ControlClient.connect(socket, java.time.Duration.ofSeconds(30));
      client.health();
      return new DaemonLink(client, err);
    } catch (IOException | ControlException | RuntimeException e) {
      if (client != null) {
        client.close();
      }
    }
    err.println("s3cache-train: no s3cache daemon answers on " + socket
        + ": training without epoch plans or cache figures");
    return detached(err);
  }

  /** A link that does nothing (local data, or --no-plan without stats). */
  public static DaemonLink detached(PrintStream err) {
    DaemonLink link = new DaemonLink(null, err);
    link.plansOff = true;
    return link;
  }

  public boolean connected() {
    return client != null;
  }

  /** Sends the epoch's order; false (said once) when plans cannot be used. */
  public boolean sendPlan(long epoch, List<String> paths) {
    if (plansOff || client == null) {
      return false;
    }
    try {
      // Its own lane, ended with this process: other trainers on the mount keep their plans.
      planId = client.plan(new PlanRequest(epoch, paths, null, null, null, "djl-" + ProcessHandle.current().pid(),
          false, true)).id();
      return true;
    } catch (ControlException | IOException e) {
      plansOff = true;
      err.println("s3cache-train: epoch plans off: " + e.getMessage());
      return false;
    }
  }

  /** Ends the epoch's plan; its final figures, or null without one. */
  public PlanStatus endPlan() {
    if (planId == null || client == null) {
      return null;
    }
    try {
      return client.endPlan(planId);
    } catch (ControlException | IOException e) {
      return null; // dropped already (the mount went away): nothing to end
    } finally {
      planId = null;
    }
  }

  /** The daemon's stats now, or null without a daemon. */
  public StatsSnapshot stats() {
    if (client == null) {
      return null;
    }
    try {
      return client.stats(null);
    } catch (ControlException | IOException e) {
      return null;
    }
  }

  /** Preloads {@code dir} into the disk tier; null (said once) without a daemon. */
  public PreloadProgress preload(String dir) throws TrainException {
    if (client == null) {
      err.println("s3cache-train: --preload needs an s3cache daemon; skipped");
      return null;
    }
    try {
      return client.preload(new PreloadRequest(List.of(dir), 32, null, null, false), p -> {});
    } catch (ControlException | IOException e) {
      throw new TrainException("preload of " + dir + " failed: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    endPlan();
    if (client != null) {
      client.close();
    }
  }
}
