package io.s3cache.plan;

import com.codahale.metrics.Counter;
import io.s3cache.cache.BlockKey;
import io.s3cache.control.PlanStatus;
import io.s3cache.readahead.Prefetcher;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One epoch's plan on one mount: the files a trainer will open, in order, prefetched a bounded
 * window ahead of the reader.
 *
 * <p><b>State.</b> {@code readerPos} is one past the furthest planned file the reader has opened
 * (opens of unplanned paths, and re-opens of files behind it, do not move it); {@code next} and
 * {@code nextBlock} name the next block to ask the prefetcher for. The window is the files
 * {@code [readerPos, readerPos + windowFiles)} whose planned bytes also fit {@code windowBytes}
 * (the first file always fits). When the reader jumps past {@code next}, the files it skipped are
 * not fetched. When it opens the last planned file, the plan is finished: it prefetches nothing
 * more and only its figures remain.
 *
 * <p><b>Concurrency.</b> Every method holds this object's lock; {@link #fill} asks the shared
 * {@link Prefetcher}, which never blocks. The prefetcher's global budget ({@code prefetch_memory})
 * and its executor (the fetch concurrency) bound what is in flight: when it says no budget, the
 * plan stops and tries again on the next completion of one of its fetches or the next open.
 * Completions arrive on prefetch threads; they take this lock, never the other way round.
 */
public final class EpochPlan {

  /** Starts one block prefetch: {@link Prefetcher#start} in production. */
  public interface BlockStarter {
    Prefetcher.Outcome start(BlockKey key, int length, Prefetcher.Completion done);
  }

  private final String mountPoint;
  private final String bucket;
  private final long epoch;
  private final List<PlannedFile> files;
  /** Planned positions of each path (a path may appear more than once). */
  private final Map<String, int[]> positions;
  /** cumBytes[i] = planned bytes of files [0, i). */
  private final long[] cumBytes;
  private final int blockSize;
  private final PlanLimits limits;
  private final BlockStarter starter;
  private final Counter blocksCounter;
  private final Counter bytesCounter;

  // Guarded by this.
  private int readerPos;
  private int next;
  private long nextBlock;
  private int inflight;
  private boolean finished;
  private boolean dropped;
  private long prefetchedBlocks;
  private long prefetchedBytes;
  private long alreadyCachedBlocks;
  private long onDemandGets;

  /**
   * @param blocksCounter counts blocks this plan loaded ({@code plan.prefetch.blocks})
   * @param bytesCounter counts their bytes ({@code plan.prefetch.bytes})
   */
  public EpochPlan(String mountPoint, String bucket, long epoch, List<PlannedFile> files, int blockSize,
      PlanLimits limits, BlockStarter starter, Counter blocksCounter, Counter bytesCounter) {
    this.mountPoint = mountPoint;
    this.bucket = bucket;
    this.epoch = epoch;
    this.files = List.copyOf(files);
    this.blockSize = blockSize;
    this.limits = limits;
    this.starter = starter;
    this.blocksCounter = blocksCounter;
    this.bytesCounter = bytesCounter;
    this.cumBytes = new long[this.files.size() + 1];
    Map<String, List<Integer>> where = new HashMap<>();
    for (int i = 0; i < this.files.size(); i++) {
      PlannedFile f = this.files.get(i);
      cumBytes[i + 1] = cumBytes[i] + plannedBytes(f.meta().size());
      where.computeIfAbsent(f.path(), k -> new ArrayList<>(1)).add(i);
    }
    this.positions = new HashMap<>(where.size() * 2);
    where.forEach((path, list) -> positions.put(path, list.stream().mapToInt(Integer::intValue).toArray()));
  }

  /** Starts prefetching the first window. */
  public synchronized void start() {
    finished = files.isEmpty();
    fill();
  }

  /** The filesystem opened {@code path} (a path inside the mount): advance the window if planned. */
  public synchronized void onOpen(String path) {
    if (finished || dropped) {
      return;
    }
    int[] at = positions.get(path);
    if (at == null) {
      return;
    }
    for (int i : at) {
      if (i >= readerPos) {
        readerPos = i + 1;
        if (next < readerPos) { // the reader overtook the prefetch: skip what it passed
          next = readerPos;
          nextBlock = 0;
        }
        if (readerPos == files.size()) {
          finished = true; // the epoch's last file is open: nothing left to fetch
          return;
        }
        fill();
        return;
      }
    }
  }

  /** A reader of this mount fetched {@code n} blocks from S3 itself while this plan was active. */
  public synchronized void onDemandGets(int n) {
    onDemandGets += n;
  }

  /** Stops prefetching; fetches in flight finish and stay cached. Idempotent. */
  public synchronized void drop() {
    dropped = true;
  }

  public synchronized boolean active() {
    return !finished && !dropped;
  }

  public synchronized PlanStatus status() {
    return new PlanStatus(mountPoint, epoch, files.size(), readerPos, next, inflight, prefetchedBlocks,
        prefetchedBytes, alreadyCachedBlocks, onDemandGets, active());
  }

  private long plannedBytes(long size) {
    if (size <= limits.wholeFileBytes()) {
      return size;
    }
    return Math.min(size, (long) limits.headBlocks() * blockSize);
  }

  /** Asks for blocks in plan order until the window is full or the prefetcher says no. */
  private void fill() {
    while (!finished && !dropped && next < files.size() && next < readerPos + limits.windowFiles()
        && (next == readerPos || cumBytes[next + 1] - cumBytes[readerPos] <= limits.windowBytes())) {
      PlannedFile f = files.get(next);
      long bytes = plannedBytes(f.meta().size());
      long blocks = (bytes + blockSize - 1) / blockSize;
      while (nextBlock < blocks) {
        long size = f.meta().size();
        int length = (int) Math.min(blockSize, size - nextBlock * blockSize);
        BlockKey key = new BlockKey(bucket, f.meta().key(), f.meta().etag(), nextBlock);
        Prefetcher.Outcome outcome = starter.start(key, length, this::done);
        switch (outcome) {
          case STARTED -> inflight++;
          case CACHED, IN_FLIGHT -> alreadyCachedBlocks++;
          case NO_BUDGET, REFUSED -> {
            return; // again on the next completion or open
          }
        }
        nextBlock++;
      }
      next++;
      nextBlock = 0;
    }
  }

  private synchronized void done(BlockKey key, int length, boolean ok) {
    inflight--;
    if (ok) {
      prefetchedBlocks++;
      prefetchedBytes += length;
      blocksCounter.inc();
      bytesCounter.inc(length);
    }
    fill();
  }
}
