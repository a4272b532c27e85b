package io.s3cache.readahead;

import io.s3cache.cache.BlockKey;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Read-ahead of one open handle: its {@link SequentialDetector}, how far ahead it has asked the
 * {@link Prefetcher} for blocks, and which blocks it prefetched and has not read yet (counted as
 * {@code prefetch.bytes.unused} on {@link #release}). Thread-safe: reads of one handle arrive
 * concurrently; {@link #onRead} holds this object's lock while it asks the prefetcher, which never
 * blocks.
 */
public final class ReadAheadState {

  private final Prefetcher prefetcher;
  private final io.s3cache.cache.BlockCache via;
  private final String bucket;
  private final String key;
  private final String etag;
  private final long size;
  private final int blockSize;
  private final long lastIndex;
  private final SequentialDetector detector;
  /** Blocks this handle prefetched and has not read since. */
  private final Set<Long> unread = ConcurrentHashMap.newKeySet();
  /** Guarded by this: the highest block index this stream has already asked for. */
  private long requestedThrough = -1;

  ReadAheadState(Prefetcher prefetcher, io.s3cache.cache.BlockCache via, String bucket, String key, String etag, long size,
      int blockSize, SequentialDetector detector) {
    this.prefetcher = prefetcher;
    this.via = via;
    this.bucket = bucket;
    this.key = key;
    this.etag = etag;
    this.size = size;
    this.blockSize = blockSize;
    this.lastIndex = size == 0 ? -1 : (size - 1) / blockSize;
    this.detector = detector;
  }

  /**
   * Records a read of {@code [offset, offset + length)} and starts prefetches of the blocks in
   * the window after the last block it touches. Call before serving the read.
   */
  public void onRead(long offset, long length) {
    if (length <= 0 || offset >= size) {
      return;
    }
    long end = Math.min(size, offset + length);
    long firstBlock = offset / blockSize;
    long lastBlock = (end - 1) / blockSize;
    for (long i = firstBlock; i <= lastBlock; i++) {
      unread.remove(i);
    }
    long window = detector.onRead(offset, end - offset);
    synchronized (this) {
      if (window == 0) {
        requestedThrough = -1; // a seek: the next stream starts afresh
        return;
      }
      long through = Math.min(lastIndex, lastBlock + ceilDiv(window, blockSize));
      for (long i = Math.max(lastBlock, requestedThrough) + 1; i <= through; i++) {
        int blockLength = (int) Math.min(blockSize, size - i * blockSize);
        unread.add(i); // before the start: a fast failure's prefetchDone must find it
        Prefetcher.Outcome outcome = prefetcher.start(new BlockKey(bucket, key, etag, i),
            blockLength, via, this::prefetchDone);
        if (outcome != Prefetcher.Outcome.STARTED) {
          unread.remove(i);
        }
        if (outcome == Prefetcher.Outcome.NO_BUDGET || outcome == Prefetcher.Outcome.REFUSED) {
          break; // ask again on the next read
        }
        requestedThrough = i;
      }
    }
  }

  /** The handle is closed: counts prefetched blocks it never read. */
  public void release() {
    long bytes = 0;
    for (Long i : unread) {
      bytes += Math.min(blockSize, size - i * blockSize);
    }
    unread.clear();
    if (bytes > 0) {
      prefetcher.unused(bytes);
    }
  }

  /** The current window in bytes (for tests and stats). */
  public long window() {
    return detector.window();
  }

  private void prefetchDone(BlockKey block, int length, boolean ok) {
    if (!ok) {
      unread.remove(block.index()); // nothing was fetched, so nothing is wasted
    }
  }

  private static long ceilDiv(long a, long b) {
    return (a + b - 1) / b;
  }
}
