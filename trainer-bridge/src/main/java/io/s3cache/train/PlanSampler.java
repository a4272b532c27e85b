package io.s3cache.train;

import ai.djl.training.dataset.RandomAccessDataset;
import ai.djl.training.dataset.Sampler;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * A DJL {@link Sampler} whose batches follow the {@link EpochPlanner}'s order of the current epoch
 * (set with {@link #setEpoch} before each epoch): the order the daemon was told. The last batch
 * may be smaller.
 */
public final class PlanSampler implements Sampler {

  private final EpochPlanner planner;
  private final int batchSize;
  private volatile int epoch;

  public PlanSampler(EpochPlanner planner, int batchSize) {
    if (batchSize < 1) {
      throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
    }
    this.planner = planner;
    this.batchSize = batchSize;
  }

  public void setEpoch(int epoch) {
    this.epoch = epoch;
  }

  public int epoch() {
    return epoch;
  }

  /** The order this sampler yields for the current epoch. */
  public int[] order() {
    return planner.order(epoch);
  }

  @Override
  public Iterator<List<Long>> sample(RandomAccessDataset dataset) {
    int[] order = order();
    long limit = Math.min(order.length, dataset.size());
    return new Iterator<>() {
      private int pos;

      @Override
      public boolean hasNext() {
        return pos < limit;
      }

      @Override
      public List<Long> next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        int end = (int) Math.min(limit, pos + (long) batchSize);
        List<Long> batch = new ArrayList<>(end - pos);
        for (int i = pos; i < end; i++) {
          batch.add((long) order[i]);
        }
        pos = end;
        return batch;
      }
    };
  }

  @Override
  public int getBatchSize() {
    return batchSize;
  }
}
