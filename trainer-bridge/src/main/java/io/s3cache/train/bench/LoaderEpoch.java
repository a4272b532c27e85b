package io.s3cache.train.bench;

import io.s3cache.train.BatchLoader;
import io.s3cache.train.DaemonLink;
import io.s3cache.train.EpochPlanner;
import io.s3cache.train.ImageFileDataset;
import io.s3cache.train.PlanSampler;
import io.s3cache.train.SampleList;
import io.s3cache.train.TrainException;
import java.util.concurrent.ExecutorService;

/**
 * One epoch of the bridge's data loader with no training step: every file of the dataset opened,
 * read and decoded by the worker pool, in the planner's order for that epoch, at most {@code 2 W}
 * batches ahead of the consumer (as in {@code TrainingRun}). What is timed is all the I/O a
 * trainer's loader does, with the model step taken out.
 */
final class LoaderEpoch {

  /** One timed epoch: files decoded, files skipped (unreadable), wall time, plan sent. */
  record Result(int files, int skipped, long nanos, boolean planned, long onDemandGets) {
    double seconds() {
      return nanos / 1e9;
    }
  }

  private LoaderEpoch() {}

  /**
   * Runs epoch {@code epoch} over {@code samples}. With {@code plan}, the epoch's order goes to the
   * daemon first (inside the timed span: a trainer pays for it) and the plan is ended after.
   */
  static Result run(SampleList samples, long seed, int epoch, int batch, int imageSize, ExecutorService workers,
      int workerCount, DaemonLink daemon, boolean plan) throws TrainException, InterruptedException {
    PlanSampler sampler = new PlanSampler(new EpochPlanner(seed, samples.size()), batch);
    sampler.setEpoch(epoch);
    ImageFileDataset dataset = ImageFileDataset.builder(samples, imageSize).setSampling(sampler).build();
    long start = System.nanoTime();
    boolean planned = plan && daemon.sendPlan(epoch, samples.paths(sampler.order()));
    if (plan && !planned) {
      throw new TrainException("the daemon refused the epoch plan (see the line above)");
    }
    BatchLoader loader = new BatchLoader(dataset, sampler, workers, 2 * workerCount);
    int files = 0;
    while (loader.hasNext()) {
      files += loader.next().labels().length;
    }
    long nanos = System.nanoTime() - start;
    var status = planned ? daemon.endPlan() : null;
    return new Result(files, loader.skipped().size(), nanos, planned, status == null ? -1 : status.onDemandGets());
  }
}
