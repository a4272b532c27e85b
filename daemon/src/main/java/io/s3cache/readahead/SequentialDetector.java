package io.s3cache.readahead;

/**
 * Decides, read by read, how far ahead of one handle's reader to prefetch. Pure logic: no I/O, no
 * clock. Thread-safe (reads of one handle arrive concurrently from several libfuse threads).
 *
 * <p><b>States.</b> <em>No stream</em> (window 0): nothing is read ahead. A read that starts within
 * {@code tolerance} bytes of where the previous read ended (before or after it: libfuse threads
 * deliver a sequential reader's requests slightly out of order) <em>continues</em> the stream; the
 * first continuing read confirms a stream with a window of one block, and every block boundary a
 * continuing read crosses doubles the window, up to {@code maxWindowBytes}. A read anywhere else
 * is a seek: back to no stream, until a second read confirms the new position is read
 * sequentially. The handle's very first read, if at offset 0, starts a stream at once, so a fresh
 * sequential reader gets its first block of read-ahead with its first request.
 */
public final class SequentialDetector {

  /**
   * How far a read may start from the previous read's end and still continue the stream. The
   * kernel keeps several 128 KiB requests of one sequential reader in flight (8 with a 1 MiB
   * kernel read-ahead) and libfuse's threads may serve them in any order.
   */
  public static final long DEFAULT_TOLERANCE_BYTES = 1L << 20;

  private final long blockSize;
  private final long maxWindowBytes;
  private final long tolerance;

  // Guarded by this.
  private boolean first = true;
  private long streamEnd; // the highest end offset of the current stream's reads
  private long window; // 0: no confirmed stream
  private long highestBlock; // the highest block a read of the confirmed stream has reached

  public SequentialDetector(int blockSize, long maxWindowBytes) {
    this(blockSize, maxWindowBytes, DEFAULT_TOLERANCE_BYTES);
  }

  public SequentialDetector(int blockSize, long maxWindowBytes, long tolerance) {
    if (blockSize < 1 || maxWindowBytes < 0 || tolerance < 0) {
      throw new IllegalArgumentException("blockSize " + blockSize + ", maxWindowBytes "
          + maxWindowBytes + ", tolerance " + tolerance);
    }
    this.blockSize = blockSize;
    this.maxWindowBytes = maxWindowBytes;
    this.tolerance = tolerance;
  }

  /**
   * Records a read of {@code [offset, offset + length)} and returns the read-ahead window in bytes
   * after it: how many bytes past the block this read ends in should be in the cache; 0 for none.
   */
  public synchronized long onRead(long offset, long length) {
    if (offset < 0 || length < 0) {
      throw new IllegalArgumentException("offset " + offset + ", length " + length);
    }
    long end = offset + length;
    long lastBlock = Math.max(0, end - 1) / blockSize;
    boolean startsStream = first && offset == 0;
    boolean continues = !first && offset >= streamEnd - tolerance && offset <= streamEnd + tolerance;
    first = false;
    if (startsStream || (continues && window == 0)) {
      window = Math.min(blockSize, maxWindowBytes);
      highestBlock = lastBlock;
      streamEnd = Math.max(streamEnd, end);
    } else if (continues) {
      if (lastBlock > highestBlock) {
        window = grow(window, lastBlock - highestBlock);
        highestBlock = lastBlock;
      }
      streamEnd = Math.max(streamEnd, end);
    } else {
      window = 0;
      streamEnd = end;
    }
    return window;
  }

  /** The current window in bytes (0: no confirmed stream). */
  public synchronized long window() {
    return window;
  }

  private long grow(long current, long doublings) {
    long w = current;
    for (long i = 0; i < doublings && w < maxWindowBytes; i++) {
      w = w > maxWindowBytes / 2 ? maxWindowBytes : w * 2;
    }
    return Math.min(w, maxWindowBytes);
  }
}
