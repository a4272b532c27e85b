package io.s3cache.train;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * Loads one epoch's batches in the sampler's order, decoding every image on a pool of worker
 * threads, at most {@code aheadBatches} batches ahead of the trainer. The trainer's time blocked in
 * {@link #next} is its data wait. An image that cannot be read or decoded is skipped (its batch is
 * one smaller) and recorded in {@link #skipped}: one bad file does not end a long training run.
 * Not thread-safe: one trainer thread calls it.
 */
public final class BatchLoader {

  /** A loaded batch: images (each CHW) and labels, in sampler order. */
  public record LoadedBatch(List<float[]> images, int[] labels, List<Long> indices) {}

  private final ImageFileDataset dataset;
  private final Iterator<List<Long>> batches;
  private final ExecutorService workers;
  private final int aheadBatches;
  private final Deque<List<Future<ImageFileDataset.Decoded>>> pending = new ArrayDeque<>();
  private final Deque<List<Long>> pendingIndices = new ArrayDeque<>();
  private final List<String> skipped = new ArrayList<>();
  private final List<Long> order = new ArrayList<>();
  private long waitNanos;

  public BatchLoader(ImageFileDataset dataset, PlanSampler sampler, ExecutorService workers, int aheadBatches) {
    this.dataset = dataset;
    this.batches = sampler.sample(dataset);
    this.workers = workers;
    this.aheadBatches = Math.max(1, aheadBatches);
    fill();
  }

  public boolean hasNext() {
    return !pending.isEmpty();
  }

  /** The next batch (possibly empty if all its images were skipped); blocks while workers decode. */
  public LoadedBatch next() throws InterruptedException {
    List<Future<ImageFileDataset.Decoded>> futures = pending.removeFirst();
    List<Long> indices = pendingIndices.removeFirst();
    fill();
    long start = System.nanoTime();
    List<float[]> images = new ArrayList<>(futures.size());
    int[] labels = new int[futures.size()];
    List<Long> kept = new ArrayList<>(futures.size());
    for (int i = 0; i < futures.size(); i++) {
      try {
        ImageFileDataset.Decoded d = futures.get(i).get();
        labels[images.size()] = d.label();
        images.add(d.chw());
        kept.add(indices.get(i));
      } catch (ExecutionException e) {
        Throwable c = e.getCause();
        skipped.add(c instanceof IOException ? c.getMessage() : String.valueOf(c));
      }
    }
    waitNanos += System.nanoTime() - start;
    order.addAll(indices);
    return new LoadedBatch(images, java.util.Arrays.copyOf(labels, images.size()), kept);
  }

  /** Nanoseconds the caller spent blocked in {@link #next}. */
  public long waitNanos() {
    return waitNanos;
  }

  /** One line per skipped image: path and reason. */
  public List<String> skipped() {
    return skipped;
  }

  /** Dataset indices handed out so far, in order (skipped ones included). */
  public List<Long> order() {
    return order;
  }

  /** Cancels decodes not started (an epoch that ends early). */
  public void cancel() {
    pending.forEach(l -> l.forEach(f -> f.cancel(true)));
    pending.clear();
    pendingIndices.clear();
  }

  private void fill() {
    while (pending.size() < aheadBatches && batches.hasNext()) {
      List<Long> indices = batches.next();
      List<Future<ImageFileDataset.Decoded>> futures = new ArrayList<>(indices.size());
      for (long index : indices) {
        futures.add(workers.submit(() -> dataset.decode((int) index)));
      }
      pending.addLast(futures);
      pendingIndices.addLast(indices);
    }
  }
}
