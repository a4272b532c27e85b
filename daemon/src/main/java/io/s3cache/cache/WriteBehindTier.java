package io.s3cache.cache;

import java.nio.ByteBuffer;

/**
 * The disk tier as the block cache sees it: the {@link DiskTier} plus the blocks still in its
 * {@link DiskWriteQueue} (queued or being written). The RAM tier may refuse or evict a fetched
 * block before its background write lands; a look-up then finds the queue's copy instead of
 * missing and fetching the block again. Dropping a block drops its queued write too (else it would
 * land on disk afterwards). Everything else is the disk tier's.
 */
final class WriteBehindTier implements CacheTier {

  private final DiskTier disk;
  private final DiskWriteQueue writes;

  WriteBehindTier(DiskTier disk, DiskWriteQueue writes) {
    this.disk = disk;
    this.writes = writes;
  }

  @Override
  public Block lookup(BlockKey key, int length) {
    BlockBuffer unwritten = writes.unwritten(key);
    if (unwritten != null && unwritten.length() == length) {
      return new Queued(key, unwritten);
    }
    return disk.lookup(key, length);
  }

  /**
   * A block of the write queue: read from its buffer, or, if its write ended (the buffer given
   * back) between look-up and read, from the disk tier, where the write just put it.
   */
  private final class Queued implements Block {
    private final BlockKey key;
    private final Whole queued;

    Queued(BlockKey key, BlockBuffer block) {
      this.key = key;
      this.queued = new Whole(block);
    }

    @Override
    public int length() {
      return queued.length();
    }

    @Override
    public ByteBuffer readAll() {
      ByteBuffer all = queued.readAll();
      if (all != null) {
        return all;
      }
      Block written = disk.lookup(key, length());
      return written == null ? null : written.readAll();
    }

    @Override
    public boolean read(int offsetInBlock, ByteBuffer dst) {
      if (queued.read(offsetInBlock, dst)) {
        return true;
      }
      Block written = disk.lookup(key, length());
      return written != null && written.read(offsetInBlock, dst);
    }
  }

  @Override
  public boolean insert(BlockKey key, ByteBuffer block) {
    return disk.insert(key, block);
  }

  /**
   * Drops the block from the write queue and the disk tier; a write of it running right now is
   * let finish first, then its file removed. Whether either held it.
   */
  @Override
  public boolean invalidate(BlockKey key) {
    boolean queued = writes.cancel(key);
    if (!queued && disk.isBusy(key)) {
      try {
        writes.awaitIdle();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    return disk.invalidate(key) | queued;
  }

  @Override
  public boolean contains(BlockKey key) {
    return writes.unwritten(key) != null || disk.contains(key);
  }

  @Override
  public long bytes() {
    return disk.bytes();
  }

  @Override
  public long blockCount() {
    return disk.blockCount();
  }
}
