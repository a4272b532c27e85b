/**
 * Epoch plans: a trainer's ordered list of the files it reads next, prefetched a bounded window
 * ahead of the reader ({@link io.s3cache.plan.EpochPlan}), several per mount ({@link
 * io.s3cache.plan.MountPlans}), which hears of the mount's opens and reader fetches as its
 * filesystem's {@link io.s3cache.fs.ReadObserver}.
 */
package io.s3cache.plan;
