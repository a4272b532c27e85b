/**
 * Epoch plans: a trainer's ordered list of the files it reads next, prefetched a bounded window
 * ahead of the reader ({@link io.s3cache.plan.EpochPlan}), one slot per mount ({@link
 * io.s3cache.plan.PlanSlot}).
 */
package io.s3cache.plan;
