package io.s3cache.cache;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * Blocks fetched ahead of their reader (read-ahead, plan prefetch), held in memory until the reader
 * has had them: a small first-in first-out set between the RAM tier and the disk tier.
 *
 * <p><b>Why.</b> The RAM tier's W-TinyLFU policy keeps blocks read often (a block read through in
 * 128 KiB pieces is read 64 times) and gives up blocks read once or not yet, which is what keeps a
 * scan larger than RAM from churning it. But the blocks read-ahead fetched ahead of a sequential
 * reader are exactly blocks not read yet: each newer one pushed an older one out before its
 * reader came. That block then lived only in the disk write queue, was written with {@code
 * O_DIRECT} (so not in the page cache either), and its reader read it back from the device: on a
 * cold 1 GiB read with a 256 MiB RAM tier, half of the reads were disk-tier hits and 11% of the
 * daemon's CPU went to those positional reads (run 9 in docs/BENCHMARKS.md). Here a block fetched
 * ahead stays readable from its buffer until its reader has read to its end, or newer blocks need
 * the room. A block a reader fetched itself is not held: its reader is already there.
 *
 * <p><b>Bound.</b> At most {@code capacityBytes} of blocks, taken out of the memory kept for fills
 * ({@link CacheConfig#fillBufferBytes}): a pooled block held here is a pool buffer not yet given
 * back. A new
 * block displaces the oldest block read to its end, else the oldest; and when a fill waits for a
 * buffer, {@link #shed} gives blocks back the same way, so holding blocks here never holds up a
 * fetch. A block the RAM tier also holds costs no memory here (the same buffer).
 *
 * <p>Concurrency: the map under this object's monitor; reads copy outside it under a buffer
 * reference of their own ({@link BlockBuffer#copyTo}), so a block dropped meanwhile is a miss,
 * never another block's bytes.
 */
final class RecentBlocks implements CacheTier {

  /** A held block, and whether a reader has read its last byte (a sequential reader is done). */
  private static final class Held {
    final BlockKey key;
    final BlockBuffer block;
    boolean readToEnd; // under the RecentBlocks monitor

    Held(BlockKey key, BlockBuffer block) {
      this.key = key;
      this.block = block;
    }
  }

  private final long capacityBytes;
  private final LinkedHashMap<BlockKey, Held> held = new LinkedHashMap<>(); // oldest first
  /** Blocks read to their end, oldest first; may name blocks already dropped (skipped then). */
  private final ArrayDeque<Held> readThrough = new ArrayDeque<>();
  private long bytes;
  /** Bytes of held blocks not read to their end yet. */
  private long unreadBytes;
  /** Set by {@link #clear}: nothing is held after the cache closed. */
  private boolean closed;

  /** @param capacityBytes most bytes held at once; 0 holds nothing */
  RecentBlocks(long capacityBytes) {
    if (capacityBytes < 0) {
      throw new IllegalArgumentException("negative capacity " + capacityBytes);
    }
    this.capacityBytes = capacityBytes;
  }

  /**
   * Holds the block under a reference of its own (none kept, false, if it does not fit, the
   * buffer is gone already or the cache closed), displacing older blocks as needed.
   */
  boolean hold(BlockKey key, BlockBuffer block) {
    if (block.length() > capacityBytes || !block.retain()) {
      return false;
    }
    List<Held> dropped = new ArrayList<>(2);
    boolean kept;
    synchronized (this) {
      kept = !closed;
      if (kept) {
        Held replaced = held.put(key, new Held(key, block));
        if (replaced != null) {
          forget(replaced);
          dropped.add(replaced);
        }
        bytes += block.length();
        unreadBytes += block.length();
        while (bytes > capacityBytes) {
          dropped.add(dropOne()); // never the block just added: it is the newest and fits alone
        }
      }
    }
    if (!kept) {
      block.release(); // the reference just taken: the cache closed
    }
    for (Held h : dropped) {
      h.block.release(); // outside the monitor: the last release gives the buffer to the pool
    }
    return kept;
  }

  /** Takes a dropped block's bytes off the counts; under the monitor. */
  private void forget(Held h) {
    bytes -= h.block.length();
    if (!h.readToEnd) {
      unreadBytes -= h.block.length();
    }
  }

  /**
   * Whether a block of {@code length} bytes more, fetched ahead, would still leave room for every
   * held block its reader has not had yet: false means holding it would push out one of those.
   */
  synchronized boolean roomForUnread(long length) {
    return !closed && unreadBytes + length <= capacityBytes;
  }

  /**
   * Gives one pooled buffer back if this holds one nobody else does (a fill is waiting for a
   * buffer); drops blocks, those read to their end first, until one such buffer went back.
   * Whether it freed one.
   */
  boolean shed() {
    while (true) {
      Held dropped;
      synchronized (this) {
        if (held.isEmpty()) {
          return false;
        }
        dropped = dropOne();
      }
      boolean lastHolder = dropped.block.pooled() && dropped.block.refCount() == 1;
      dropped.block.release();
      if (lastHolder) {
        return true;
      }
    }
  }

  /**
   * Drops the oldest block read to its end, else the oldest; under the monitor, with at least one
   * block held; returns it for the caller to release once outside the monitor.
   */
  private Held dropOne() {
    Held victim = null;
    while (victim == null && !readThrough.isEmpty()) {
      Held h = readThrough.pollFirst();
      if (held.get(h.key) == h) { // else dropped or replaced since
        victim = h;
      }
    }
    if (victim == null) {
      victim = held.values().iterator().next();
    }
    held.remove(victim.key);
    forget(victim);
    return victim;
  }

  /** A reader read the block's last byte: it goes first when room is needed. */
  private synchronized void readToEnd(Held h) {
    if (!h.readToEnd && held.get(h.key) == h) {
      h.readToEnd = true;
      unreadBytes -= h.block.length();
      readThrough.addLast(h);
      if (readThrough.size() > 2 * held.size() + 64) { // blocks invalidated since: forget them
        readThrough.removeIf(x -> held.get(x.key) != x);
      }
    }
  }

  @Override
  public Block lookup(BlockKey key, int length) {
    Held h;
    synchronized (this) {
      h = held.get(key);
    }
    if (h == null || h.block.length() != length) {
      return null;
    }
    Held found = h;
    Whole whole = new Whole(found.block);
    return new Block() { // a Whole that notes when a read reaches the block's end
      @Override
      public int length() {
        return whole.length();
      }

      @Override
      public ByteBuffer readAll() {
        ByteBuffer all = whole.readAll();
        if (all != null) {
          readToEnd(found);
        }
        return all;
      }

      @Override
      public boolean read(int offsetInBlock, ByteBuffer dst) {
        boolean toEnd = offsetInBlock + dst.remaining() == whole.length();
        if (!whole.read(offsetInBlock, dst)) {
          return false;
        }
        if (toEnd) {
          readToEnd(found);
        }
        return true;
      }
    };
  }

  /** Blocks come in through {@link #hold} only (they are fetched blocks in buffers). */
  @Override
  public boolean insert(BlockKey key, ByteBuffer block) {
    return false;
  }

  @Override
  public boolean invalidate(BlockKey key) {
    Held dropped;
    synchronized (this) {
      dropped = held.remove(key);
      if (dropped != null) {
        forget(dropped);
      }
    }
    if (dropped == null) {
      return false;
    }
    dropped.block.release();
    return true;
  }

  /** Drops every block and holds none from now on (the cache closes). */
  void clear() {
    Held[] all;
    synchronized (this) {
      closed = true;
      all = held.values().toArray(new Held[0]);
      held.clear();
      readThrough.clear();
      bytes = 0;
      unreadBytes = 0;
    }
    for (Held h : all) {
      h.block.release();
    }
  }

  @Override
  public synchronized boolean contains(BlockKey key) {
    return held.containsKey(key);
  }

  @Override
  public synchronized long bytes() {
    return bytes;
  }

  @Override
  public synchronized long blockCount() {
    return held.size();
  }
}
