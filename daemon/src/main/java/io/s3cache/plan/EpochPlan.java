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
 * One epoch's plan of one reader (a rank, a training process) on one mount: the files it will open,
 * in order, prefetched a bounded window ahead of the reader. A mount may hold several plans
 * ({@link MountPlans}): each has an id, a name (a plan replaces the plan of the same name) and,
 * optionally, the client process whose exit ends it.
 *
 * <p><b>State.</b> {@code readerPos} is one past the furthest planned file the reader has opened
 * (opens of unplanned paths, and re-opens of files behind it, do not move it); {@code next} and
 * {@code nextBlock} name the next block to ask the prefetcher for. The window is the files
 * {@code [readerPos, readerPos + windowFiles)} whose planned bytes also fit {@code windowBytes}
 * (the first file always fits). When the reader jumps past {@code next}, the files it skipped are
 * not fetched. When it opens the last planned file, the plan is finished: it prefetches nothing
 * more and only its figures remain. A follow-on plan is {@link State#QUEUED}: it may prefetch its
 * first window ({@link #prefetchAhead}) but follows no opens until {@link #promote}.
 *
 * <p><b>Concurrency.</b> Every method holds this object's lock; {@link #fill} asks the shared
 * {@link Prefetcher}, which never blocks. The prefetcher's global budget ({@code prefetch_memory}),
 * its executor (the fetch concurrency) and this plan's share of it ({@link PlanShare}) bound what
 * is in flight: when either says no, the plan stops and tries again on the next completion of one
 * of its fetches or the next open. Completions arrive on prefetch threads; they take this lock,
 * never the other way round.
 */
public final class EpochPlan {

  /** Starts one block prefetch: {@link Prefetcher#start} in production. */
  public interface BlockStarter {
    Prefetcher.Outcome start(BlockKey key, int length, Prefetcher.Completion done);
  }

  /** Where a plan is in its life. */
  public enum State {
    /** A follow-on: waits for the plan of its name to end (it may prefetch its first window). */
    QUEUED,
    /** Follows its reader's opens and prefetches ahead of them. */
    ACTIVE,
    /** Its reader opened the last planned file. */
    FINISHED,
    /** Ended before that: by its client, a newer plan of its name, its client's exit, an unmount. */
    ENDED;

    /** The name in {@link PlanStatus#state}. */
    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** Who a plan is: its id, its name, and the client process whose exit ends it (or null). */
  public record Identity(String id, String name, ClientProcess client) {
    public static Identity anonymous(String id) {
      return new Identity(id, "default", null);
    }
  }

  private final Identity identity;
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
  private final PlanShare share;
  private final Counter blocksCounter;
  private final Counter bytesCounter;

  // Guarded by this.
  private State state = State.QUEUED;
  private boolean prefetching;
  private int readerPos;
  private int next;
  private long nextBlock;
  private int inflight;
  private long prefetchedBlocks;
  private long prefetchedBytes;
  private long alreadyCachedBlocks;
  private long onDemandGets;

  /**
   * @param share this plan's share of the prefetch pool among all plans prefetching
   * @param blocksCounter counts blocks this plan loaded ({@code plan.prefetch.blocks})
   * @param bytesCounter counts their bytes ({@code plan.prefetch.bytes})
   */
  public EpochPlan(Identity identity, String mountPoint, String bucket, long epoch, List<PlannedFile> files,
      int blockSize, PlanLimits limits, BlockStarter starter, PlanShare share, Counter blocksCounter,
      Counter bytesCounter) {
    this.identity = identity;
    this.mountPoint = mountPoint;
    this.bucket = bucket;
    this.epoch = epoch;
    this.files = List.copyOf(files);
    this.blockSize = blockSize;
    this.limits = limits;
    this.starter = starter;
    this.share = share;
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

  public Identity identity() {
    return identity;
  }

  /** Makes the plan active and starts prefetching its first window. */
  public synchronized void start() {
    if (state != State.QUEUED) {
      return;
    }
    state = State.ACTIVE;
    beginPrefetch();
    if (files.isEmpty()) {
      finish();
    }
    fill();
  }

  /** A queued follow-on prefetches its first window before it follows opens. */
  public synchronized void prefetchAhead() {
    if (state == State.QUEUED && !prefetching) {
      beginPrefetch();
      fill();
    }
  }

  /** A queued follow-on takes over: it follows opens from now on. */
  public synchronized void promote() {
    start();
  }

  /** True once the prefetcher has been asked for every planned block (or the plan is not active). */
  public synchronized boolean issuedAll() {
    return next >= files.size();
  }

  /**
   * How far ahead of the reader {@code path} is planned ({@code 0}: the next file), or -1 if this
   * active plan does not hold it at or after its reader's position.
   */
  public synchronized int distanceAhead(String path) {
    if (state != State.ACTIVE) {
      return -1;
    }
    int[] at = positions.get(path);
    if (at != null) {
      for (int i : at) {
        if (i >= readerPos) {
          return i - readerPos;
        }
      }
    }
    return -1;
  }

  /**
   * The filesystem opened {@code path} (a path inside the mount): advance the window if planned.
   *
   * @return true when the plan finished with this open or has now asked for all its blocks (its
   *     mount may then promote or start a follow-on)
   */
  public synchronized boolean onOpen(String path) {
    if (state != State.ACTIVE) {
      return false;
    }
    int[] at = positions.get(path);
    if (at == null) {
      return false;
    }
    for (int i : at) {
      if (i >= readerPos) {
        readerPos = i + 1;
        if (next < readerPos) { // the reader overtook the prefetch: skip what it passed
          next = readerPos;
          nextBlock = 0;
        }
        if (readerPos == files.size()) {
          finish(); // the epoch's last file is open: nothing left to fetch
          return true;
        }
        fill();
        return next >= files.size();
      }
    }
    return false;
  }

  /** A reader of this mount fetched {@code n} blocks from S3 itself while this plan was active. */
  public synchronized void onDemandGets(int n) {
    onDemandGets += n;
  }

  /** True if this plan holds {@code path} anywhere. */
  public boolean holds(String path) {
    return positions.containsKey(path); // immutable after construction
  }

  /** Stops prefetching; fetches in flight finish and stay cached. Idempotent. */
  public synchronized void drop() {
    if (state == State.QUEUED || state == State.ACTIVE) {
      state = State.ENDED;
      endPrefetch();
    }
  }

  public synchronized State state() {
    return state;
  }

  public synchronized boolean active() {
    return state == State.ACTIVE;
  }

  public synchronized PlanStatus status() {
    ClientProcess client = identity.client();
    return new PlanStatus(identity.id(), identity.name(), mountPoint, epoch, files.size(), readerPos, next,
        inflight, prefetchedBlocks, prefetchedBytes, alreadyCachedBlocks, onDemandGets, state == State.ACTIVE,
        state.label(), client == null ? 0 : client.pid());
  }

  private void finish() {
    state = State.FINISHED;
    endPrefetch();
  }

  private void beginPrefetch() {
    if (!prefetching) {
      prefetching = true;
      share.join();
    }
  }

  private void endPrefetch() {
    if (prefetching) {
      prefetching = false;
      share.leave();
    }
  }

  private long plannedBytes(long size) {
    if (size <= limits.wholeFileBytes()) {
      return size;
    }
    return Math.min(size, (long) limits.headBlocks() * blockSize);
  }

  /** Asks for blocks in plan order until the window is full, or the prefetcher or the share says no. */
  private void fill() {
    while (prefetching && next < files.size() && next < readerPos + limits.windowFiles()
        && (next == readerPos || cumBytes[next + 1] - cumBytes[readerPos] <= limits.windowBytes())) {
      PlannedFile f = files.get(next);
      long bytes = plannedBytes(f.meta().size());
      long blocks = (bytes + blockSize - 1) / blockSize;
      while (nextBlock < blocks) {
        if (inflight >= share.perPlan()) {
          return; // again on the next completion
        }
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
