package io.s3cache.train.bench;

import io.s3cache.train.BatchLoader;
import io.s3cache.train.DaemonLink;
import io.s3cache.train.EpochPlanner;
import io.s3cache.train.ImageFileDataset;
import io.s3cache.train.PlanSampler;
import io.s3cache.train.SampleList;
import io.s3cache.train.TrainException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * One epoch of the bridge's data loader with no training step: every file of the dataset opened,
 * read and decoded by the worker pool (or, with {@code decode} off, only read whole), in the planner's order for that epoch, at most {@code 2 W}
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
      int workerCount, DaemonLink daemon, boolean plan, boolean decode) throws TrainException, InterruptedException {
    PlanSampler sampler = new PlanSampler(new EpochPlanner(seed, samples.size()), batch);
    sampler.setEpoch(epoch);
    ImageFileDataset dataset = ImageFileDataset.builder(samples, imageSize).setSampling(sampler).build();
    long start = System.nanoTime();
    boolean planned = plan && daemon.sendPlan(epoch, samples.paths(sampler.order()));
    if (plan && !planned) {
      throw new TrainException("the daemon refused the epoch plan (see the line above)");
    }
    int files = 0;
    int skipped = 0;
    if (decode) {
      BatchLoader loader = new BatchLoader(dataset, sampler, workers, 2 * workerCount);
      while (loader.hasNext()) {
        files += loader.next().labels().length;
      }
      skipped = loader.skipped().size();
    } else {
      files = readOnly(samples, sampler.order(), batch, workers, 2 * workerCount);
    }
    long nanos = System.nanoTime() - start;
    var status = planned ? daemon.endPlan() : null;
    return new Result(files, skipped, nanos, planned, status == null ? -1 : status.onDemandGets());
  }

  /**
   * The same order, batches and look-ahead as {@link BatchLoader}, each file read whole into a
   * buffer and not decoded: the I/O alone.
   */
  private static int readOnly(SampleList samples, int[] order, int batch, ExecutorService workers, int aheadBatches)
      throws InterruptedException, TrainException {
    java.util.ArrayDeque<List<Future<Integer>>> pending = new java.util.ArrayDeque<>();
    int pos = 0;
    int files = 0;
    while (pos < order.length || !pending.isEmpty()) {
      while (pending.size() < aheadBatches && pos < order.length) {
        List<Future<Integer>> b = new ArrayList<>(batch);
        for (int end = Math.min(order.length, pos + batch); pos < end; pos++) {
          Path p = samples.samples().get(order[pos]).path();
          b.add(workers.submit(() -> Files.readAllBytes(p).length));
        }
        pending.addLast(b);
      }
      for (Future<Integer> f : pending.removeFirst()) {
        try {
          f.get();
          files++;
        } catch (ExecutionException e) {
          throw new TrainException("reading failed: " + e.getCause(), e.getCause());
        }
      }
    }
    return files;
  }
}
