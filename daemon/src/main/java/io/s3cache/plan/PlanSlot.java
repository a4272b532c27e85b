package io.s3cache.plan;

import com.codahale.metrics.Counter;
import io.s3cache.fs.ReadObserver;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The epoch plan of one mount, if any. The mount's filesystem reports every open and every block a
 * reader fetched itself here (as its {@link ReadObserver}); with no plan that costs one volatile
 * read. A new plan replaces (and drops) the previous one.
 */
public final class PlanSlot implements ReadObserver {

  private final AtomicReference<EpochPlan> current = new AtomicReference<>();
  private final Counter onDemandGets;

  /** @param onDemandGets counts blocks readers fetched themselves while a plan was active */
  public PlanSlot(Counter onDemandGets) {
    this.onDemandGets = onDemandGets;
  }

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

  /** Moves the plan's window past {@code path}. */
  @Override
  public void onOpen(String path) {
    EpochPlan plan = current.get();
    if (plan != null) {
      plan.onOpen(path);
    }
  }

  /** Counts the blocks against the plan while it is active: reads it did not cover in time. */
  @Override
  public void onReaderFetches(int blocks) {
    EpochPlan plan = activePlan();
    if (plan != null) {
      plan.onDemandGets(blocks);
      onDemandGets.inc(blocks);
    }
  }

  /** The plan that on-demand GETs of a reader count against now, or null. */
  public EpochPlan activePlan() {
    EpochPlan plan = current.get();
    return plan != null && plan.active() ? plan : null;
  }
}
