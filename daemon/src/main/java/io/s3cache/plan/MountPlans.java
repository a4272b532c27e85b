package io.s3cache.plan;

import com.codahale.metrics.Counter;
import io.s3cache.fs.ReadObserver;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The epoch plans of one mount: one lane per plan name (a rank, a training process), each with its
 * current plan and at most one queued follow-on (the next epoch's order, sent early). The mount's
 * filesystem reports every open and every block a reader fetched itself here (as its {@link
 * ReadObserver}); with no plan that costs one volatile read.
 *
 * <p><b>Which plan an open advances.</b> Readers of several plans share one mount, and DataLoader
 * workers are child processes, so an open is matched by path, not by process: it advances the
 * active plan that holds the file nearest ahead of its reader's position (with one plan: that plan,
 * wherever ahead the file is). A follow-on follows no opens until it takes over, so the tail of one
 * epoch does not move the next epoch's plan.
 *
 * <p><b>Follow-ons.</b> A follow-on starts prefetching its first window once the current plan of
 * its lane has asked for all its blocks, and takes over when that plan ends (its reader opened the
 * last planned file, or its client ended it): so the next epoch's first files arrive while the
 * previous epoch's last ones are read.
 *
 * <p><b>Ended plans</b> keep their figures for {@code GET /plan}: the last {@link #KEPT} of them.
 *
 * <p><b>Concurrency.</b> This object's lock guards the lanes and is taken before a plan's lock,
 * never while one is held (an open asks the plans first, then settles the lanes).
 */
public final class MountPlans implements ReadObserver {

  /** Ended and finished plans kept for their figures. */
  public static final int KEPT = 32;

  private static final EpochPlan[] NONE = new EpochPlan[0];

  private static final class Lane {
    EpochPlan current;
    EpochPlan next;
  }

  private final Counter onDemandGets;
  // Guarded by this.
  private final Map<String, Lane> lanes = new LinkedHashMap<>();
  private final ArrayDeque<EpochPlan> kept = new ArrayDeque<>();
  /** The active plans, republished under this lock whenever a lane changes. */
  private volatile EpochPlan[] following = NONE;
  /** True while some lane has a follow-on that has not taken over. */
  private volatile boolean followOnWaiting;

  /** @param onDemandGets counts blocks readers fetched themselves while a plan was active */
  public MountPlans(Counter onDemandGets) {
    this.onDemandGets = onDemandGets;
  }

  /**
   * Installs {@code plan} in the lane of its name. As a follow-on ({@code queued}) while that lane's
   * plan is active, it waits for it (replacing an earlier follow-on); otherwise it replaces the
   * lane's plans and starts at once.
   *
   * @return the plans it ended
   */
  public synchronized List<EpochPlan> install(EpochPlan plan, boolean queued) {
    plan.onChange(this::settleNow);
    List<EpochPlan> ended = new ArrayList<>(2);
    Lane lane = lanes.computeIfAbsent(plan.identity().name(), n -> new Lane());
    if (queued && lane.current != null && lane.current.active()) {
      if (lane.next != null) {
        ended.add(retire(lane.next));
      }
      lane.next = plan;
    } else {
      if (lane.current != null) {
        ended.add(retire(lane.current));
      }
      if (lane.next != null) {
        ended.add(retire(lane.next));
        lane.next = null;
      }
      lane.current = plan;
      plan.start();
    }
    settle();
    return ended;
  }

  /** Every plan of this mount: active and queued ones first, then the kept ended ones, newest last. */
  public synchronized List<EpochPlan> all() {
    List<EpochPlan> all = new ArrayList<>();
    for (Lane lane : lanes.values()) {
      if (lane.current != null) {
        all.add(lane.current);
      }
      if (lane.next != null) {
        all.add(lane.next);
      }
    }
    all.addAll(kept);
    return all;
  }

  /** The plan with {@code id} (active, queued or kept), or null. */
  public synchronized EpochPlan find(String id) {
    for (EpochPlan p : all()) {
      if (p.identity().id().equals(id)) {
        return p;
      }
    }
    return null;
  }

  /**
   * Ends the plan with {@code id}; a follow-on of a current plan ended this way takes over. A plan
   * over already (kept for its figures) stays as it is. Returns it, or null if unknown.
   */
  public synchronized EpochPlan end(String id) {
    for (Lane lane : lanes.values()) {
      if (lane.current != null && lane.current.identity().id().equals(id)) {
        EpochPlan p = lane.current;
        p.drop();
        settle(); // moves it to the kept ones and promotes the follow-on
        return p;
      }
      if (lane.next != null && lane.next.identity().id().equals(id)) {
        EpochPlan p = retire(lane.next);
        lane.next = null;
        settle();
        return p;
      }
    }
    for (EpochPlan p : kept) {
      if (p.identity().id().equals(id)) {
        return p; // over already: its figures stay for GET /plan
      }
    }
    return null;
  }

  /** Ends every plan of the lane {@code name} (null: of every lane), follow-ons too; returns them. */
  public synchronized List<EpochPlan> endAll(String name) {
    return endLanes(lane -> true, name);
  }

  /** Ends the plans whose client process has exited; returns them. */
  public synchronized List<EpochPlan> endOrphans() {
    return endLanes(lane -> orphaned(lane.current) || orphaned(lane.next), null);
  }

  private static boolean orphaned(EpochPlan p) {
    ClientProcess c = p == null ? null : p.identity().client();
    return c != null && p.state() != EpochPlan.State.FINISHED && !c.alive();
  }

  /** Ends both plans of each lane (of {@code name} only, unless null) that {@code which} picks. */
  private List<EpochPlan> endLanes(java.util.function.Predicate<Lane> which, String name) {
    List<EpochPlan> ended = new ArrayList<>();
    lanes.entrySet().removeIf(e -> {
      Lane lane = e.getValue();
      if ((name != null && !name.equals(e.getKey())) || !which.test(lane)) {
        return false;
      }
      for (EpochPlan p : new EpochPlan[] {lane.current, lane.next}) {
        if (p != null) {
          ended.add(retire(p));
        }
      }
      return true;
    });
    settle();
    return ended;
  }

  /** True if some plan of this mount has a client process to watch. */
  public synchronized boolean watchesClients() {
    for (Lane lane : lanes.values()) {
      if ((lane.current != null && lane.current.identity().client() != null)
          || (lane.next != null && lane.next.identity().client() != null)) {
        return true;
      }
    }
    return false;
  }

  /** Advances the plan that holds {@code path} nearest ahead of its reader. */
  @Override
  public void onOpen(String path) {
    EpochPlan[] plans = following;
    if (plans.length == 0) {
      return;
    }
    EpochPlan target = plans[0];
    if (plans.length > 1) {
      target = null;
      int best = Integer.MAX_VALUE;
      for (EpochPlan p : plans) {
        int d = p.distanceAhead(path);
        if (d >= 0 && d < best) {
          best = d;
          target = p;
        }
      }
      if (target == null) {
        return;
      }
    }
    boolean changed = target.onOpen(path);
    if (changed && (followOnWaiting || !target.active())) {
      synchronized (this) {
        settle();
      }
    }
  }

  /** Counts the blocks against the active plan that holds the file (else the first active one). */
  @Override
  public void onReaderFetches(String path, int blocks) {
    EpochPlan[] plans = following;
    if (plans.length == 0) {
      return;
    }
    EpochPlan target = plans[0];
    for (EpochPlan p : plans) {
      if (p.holds(path)) {
        target = p;
        break;
      }
    }
    target.onDemandGets(blocks);
    onDemandGets.inc(blocks);
  }

  /** The active plans now. */
  public List<EpochPlan> active() {
    return List.of(following);
  }

  private synchronized void settleNow() {
    settle();
  }

  /** Moves ended current plans to the kept ones, promotes follow-ons, starts their prefetch. */
  private void settle() {
    List<EpochPlan> active = new ArrayList<>(lanes.size());
    boolean waiting = false;
    for (Lane lane : lanes.values()) {
      if (lane.current != null && lane.current.state() != EpochPlan.State.ACTIVE) {
        keep(lane.current);
        lane.current = lane.next;
        lane.next = null;
        if (lane.current != null) {
          lane.current.promote();
        }
      }
      if (lane.next != null) {
        if (lane.current.issuedAll()) {
          lane.next.prefetchAhead();
        } else {
          waiting = true;
        }
      }
      if (lane.current != null && lane.current.active()) {
        active.add(lane.current);
      }
    }
    lanes.values().removeIf(l -> l.current == null && l.next == null);
    following = active.toArray(NONE);
    followOnWaiting = waiting;
  }

  private EpochPlan retire(EpochPlan plan) {
    plan.drop();
    keep(plan);
    return plan;
  }

  private void keep(EpochPlan plan) {
    kept.remove(plan);
    kept.addLast(plan);
    while (kept.size() > KEPT) {
      kept.removeFirst();
    }
  }
}
