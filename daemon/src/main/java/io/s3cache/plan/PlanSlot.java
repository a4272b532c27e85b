package io.s3cache.plan;

import java.util.concurrent.atomic.AtomicReference;

/**
 * The epoch plan of one mount, if any. The filesystem reports every open here; with no plan that
 * costs one volatile read. A new plan replaces (and drops) the previous one.
 */
public final class PlanSlot {

  private final AtomicReference<EpochPlan> current = new AtomicReference<>();

  /** Installs {@code plan} and starts it; returns the plan it replaced (dropped), or null. */
  public EpochPlan install(EpochPlan plan) {
    EpochPlan previous = current.getAndSet(plan);
    if (previous != null) {
      previous.drop();
    }
    plan.start();
    return previous;
  }

  /** The current plan (active or finished), or null. */
  public EpochPlan current() {
    return current.get();
  }

  /** Removes and drops the current plan; null if there was none. */
  public EpochPlan remove() {
    EpochPlan plan = current.getAndSet(null);
    if (plan != null) {
      plan.drop();
    }
    return plan;
  }

  public void onOpen(String path) {
    EpochPlan plan = current.get();
    if (plan != null) {
      plan.onOpen(path);
    }
  }

  /** The plan that on-demand GETs of a reader count against now, or null. */
  public EpochPlan activePlan() {
    EpochPlan plan = current.get();
    return plan != null && plan.active() ? plan : null;
  }
}
