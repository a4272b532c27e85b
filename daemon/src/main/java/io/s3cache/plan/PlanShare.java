package io.s3cache.plan;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Shares the prefetch pool fairly between the epoch plans that are prefetching, on every mount of
 * the daemon: each may have at most {@code slots / running} block fetches of its own in flight (at
 * least one), so one rank's plan cannot take the pool while another rank's reader waits. A plan
 * over its share after another joins starts nothing new until its fetches fall under it.
 */
public final class PlanShare {

  private final int slots;
  private final AtomicInteger running = new AtomicInteger();

  /** @param slots block fetches in flight for all plans together (the prefetch pool's queue depth) */
  public PlanShare(int slots) {
    if (slots < 1) {
      throw new IllegalArgumentException("plan share needs at least one slot, got " + slots);
    }
    this.slots = slots;
  }

  /** No sharing: one plan alone (tests of a single plan). */
  public static PlanShare unlimited() {
    return new PlanShare(Integer.MAX_VALUE);
  }

  void join() {
    running.incrementAndGet();
  }

  void leave() {
    running.decrementAndGet();
  }

  /** Plans prefetching now. */
  public int running() {
    return running.get();
  }

  /** Block fetches one plan may have in flight now. */
  public int perPlan() {
    return Math.max(1, slots / Math.max(1, running.get()));
  }
}
