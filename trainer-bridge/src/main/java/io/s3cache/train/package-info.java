/**
 * The DJL trainer bridge: datasets over files on a mount ({@link io.s3cache.train.SampleList},
 * {@link io.s3cache.train.ImageFileDataset}), the epoch planner and the sampler that follows it
 * ({@link io.s3cache.train.EpochPlanner}, {@link io.s3cache.train.PlanSampler}), a loader that
 * decodes on worker threads ({@link io.s3cache.train.BatchLoader}), the link to the daemon
 * ({@link io.s3cache.train.DaemonLink}) and {@code bin/s3cache-train} ({@link io.s3cache.train.TrainCli}).
 */
package io.s3cache.train;
