package io.s3cache.plan;

import com.codahale.metrics.Counter;
import io.s3cache.cache.BlockKey;
import io.s3cache.control.PlanStatus;
import io.s3cache.readahead.Prefetcher;
import java.util.ArrayList;
import java.util.BitSet;
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
 * (opens of unplanned paths, and re-opens, do not move it); {@code opened} marks each planned
 * position opened. The reader may open files out of order: a DataLoader's workers each read their
 * own batches, so worker 1 opens file 64 while worker 0 opens file 0. {@code next} and {@code
 * nextBlock} name the next block to ask the prefetcher for. A file opened before the plan asked
 * for it is asked for at once, ahead of the order (its reader's reads then wait for that fetch
 * instead of fetching themselves), and passed over when the order reaches it. The window is the files {@code [readerPos, readerPos +
 * windowFiles)} whose planned bytes also fit {@code windowBytes} (the first file always fits); the
 * files behind {@code readerPos} not asked for yet are asked for too, unless they are more than
 * {@link #skipDistance} behind it: then the reader jumped, and what it skipped is not fetched. Once
 * the last planned file is open and every block was asked for, the plan is finished: only its
 * figures remain. A follow-on plan is {@link State#QUEUED}: it may prefetch its
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
  /**
   * Files further than this (4 windows) behind the furthest open are skipped, not fetched: closer
   * ones are a loader's other workers' batches, not opened yet.
   */
  private final int skipDistance;
  private final Counter blocksCounter;
  private final Counter bytesCounter;

  // Guarded by this.
  private State state = State.QUEUED;
  private boolean prefetching;
  private int readerPos;
  private final BitSet opened = new BitSet();
  private int next;
  private long nextBlock;
  private int inflight;
  private long prefetchedBlocks;
  private long prefetchedBytes;
  private long alreadyCachedBlocks;
  private long onDemandGets;
  private Runnable listener;

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
    this.skipDistance = (int) Math.min(Integer.MAX_VALUE, 4L * limits.windowFiles());
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
   * How far from the reader {@code path} is planned (its first position not opened yet, ahead of the
   * furthest open or behind it: {@code 0} is the next file), or -1 if this active plan does not hold
   * it there.
   */
  public synchronized int distanceAhead(String path) {
    if (state != State.ACTIVE) {
      return -1;
    }
    int i = unopened(positions.get(path));
    if (i < 0 || i < readerPos - skipDistance) {
      return -1;
    }
    return i >= readerPos ? i - readerPos : readerPos - 1 - i;
  }

  /** The first of {@code at} not opened yet, or -1. */
  private int unopened(int[] at) {
    if (at != null) {
      for (int i : at) {
        if (!opened.get(i)) {
          return i;
        }
      }
    }
    return -1;
  }

  /**
   * The filesystem opened {@code path} (a path inside the mount): advance the window if planned.
   *
   * @return true when the plan is no longer active or has now asked for all its blocks (its mount
   *     may then promote or start a follow-on)
   */
  public synchronized boolean onOpen(String path) {
    if (state != State.ACTIVE) {
      return true; // finished since the mount last looked
    }
    int i = unopened(positions.get(path));
    if (i < 0) {
      return false; // unplanned, or a re-open
    }
    opened.set(i);
    readerPos = Math.max(readerPos, i + 1);
    if (next < readerPos - skipDistance) { // the reader jumped: skip what it passed
      next = readerPos - skipDistance;
      nextBlock = 0;
    }
    if (i >= next && prefetching) {
      startNow(i); // opened before the plan asked for it: its reads join this fetch, not fetch again
    }
    fill();
    return state != State.ACTIVE || next >= files.size();
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

  /**
   * Asks at once for the blocks of file {@code i}, which its reader just opened ahead of the plan's
   * order (a loader's other worker, or the first batches at an epoch's start): outside the plan's
   * share, since its reader needs them now; the prefetcher's budget still applies.
   */
  private void startNow(int i) {
    PlannedFile f = files.get(i);
    long blocks = (plannedBytes(f.meta().size()) + blockSize - 1) / blockSize;
    for (long b = i == next ? nextBlock : 0; b < blocks; b++) {
      int length = (int) Math.min(blockSize, f.meta().size() - b * blockSize);
      Prefetcher.Outcome outcome = starter.start(new BlockKey(bucket, f.meta().key(), f.meta().etag(), b), length,
          this::done);
      switch (outcome) {
        case STARTED -> inflight++;
        case CACHED, IN_FLIGHT -> alreadyCachedBlocks++;
        case NO_BUDGET, REFUSED -> {
          return; // its reader fetches the rest itself
        }
      }
      if (i == next) {
        nextBlock = b + 1;
      }
    }
    if (i == next) {
      next++;
      nextBlock = 0;
    }
  }

  /**
   * Asks for blocks in plan order until the window is full, or the prefetcher or the share says no;
   * finishes the plan once the last file is open and everything was asked for.
   */
  private void fill() {
    while (prefetching && next < files.size() && next < readerPos + limits.windowFiles()
        && (next <= readerPos || cumBytes[next + 1] - cumBytes[readerPos] <= limits.windowBytes())) {
      if (nextBlock == 0 && opened.get(next)) {
        next++; // asked for when it was opened (startNow)
        continue;
      }
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
    if (state == State.ACTIVE && readerPos == files.size() && next >= files.size()) {
      finish(); // the epoch's last file is open and every block was asked for: nothing left to do
    }
  }

  /**
   * {@code listener} hears (on a prefetch thread, holding no lock) when a completion finished the plan
   * or let it ask for its last block: its mount may then promote or start a follow-on.
   */
  public synchronized void onChange(Runnable listener) {
    this.listener = listener;
  }

  private void done(BlockKey key, int length, boolean ok) {
    Runnable tell;
    synchronized (this) {
      boolean wasActive = state == State.ACTIVE;
      boolean wasIssued = next >= files.size();
      inflight--;
      if (ok) {
        prefetchedBlocks++;
        prefetchedBytes += length;
        blocksCounter.inc();
        bytesCounter.inc(length);
      }
      fill();
      boolean changed = (wasActive && state != State.ACTIVE) || (!wasIssued && next >= files.size());
      tell = changed ? listener : null;
    }
    if (tell != null) {
      tell.run();
    }
  }
}
