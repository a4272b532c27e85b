package io.s3cache.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** Just-fetched blocks held until their reader has read them to the end. */
class RecentBlocksTest {
  private static final int BLOCK = 4096;

  private final BufferPool pool = new BufferPool(BLOCK, 8, 0, new BufferPool.Events() {});

  private static BlockKey key(long i) {
    return new BlockKey("bucket", "big.bin", "\"e\"", i);
  }

  /** A pooled block filled with its index, with the caller's reference (the fill's). */
  private BlockBuffer block(int i) throws IOException {
    BlockBuffer b = pool.acquire(BLOCK);
    ByteBuffer bytes = b.buffer().duplicate();
    while (bytes.hasRemaining()) {
      bytes.put((byte) i);
    }
    return b;
  }

  /** Holds block i and drops the fill's reference, as a fill does when it ends. */
  private void fetched(RecentBlocks recent, int i) throws IOException {
    BlockBuffer b = block(i);
    assertTrue(recent.hold(key(i), b));
    b.release();
  }

  private static boolean readRange(RecentBlocks recent, int i, int offset, int length) {
    CacheTier.Block b = recent.lookup(key(i), BLOCK);
    if (b == null) {
      return false;
    }
    ByteBuffer dst = ByteBuffer.allocate(length);
    assertTrue(b.read(offset, dst));
    for (int p = 0; p < length; p++) {
      assertEquals((byte) i, dst.get(p), "byte " + p + " of block " + i);
    }
    return true;
  }

  @Test
  void aHeldBlockServesItsRangesAfterTheFillLetGo() throws IOException {
    RecentBlocks recent = new RecentBlocks(4L * BLOCK);
    fetched(recent, 1);
    assertTrue(readRange(recent, 1, 100, 200));
    assertTrue(readRange(recent, 1, 0, BLOCK));
    assertNull(recent.lookup(key(1), BLOCK - 1), "another length is a miss");
    assertEquals(BLOCK, recent.bytes());
  }

  @Test
  void aNewBlockDisplacesTheOldestReadToItsEndBeforeOlderUnreadOnes() throws IOException {
    RecentBlocks recent = new RecentBlocks(3L * BLOCK);
    fetched(recent, 0);
    fetched(recent, 1);
    fetched(recent, 2);
    assertTrue(readRange(recent, 1, 0, BLOCK / 2)); // read, but not to its end: still wanted
    assertTrue(readRange(recent, 2, BLOCK / 2, BLOCK / 2)); // read to its end: done with
    fetched(recent, 3);
    assertFalse(recent.contains(key(2)), "the block read to its end went first");
    assertTrue(recent.contains(key(0)) && recent.contains(key(1)) && recent.contains(key(3)));
    fetched(recent, 4); // none read to its end: the oldest goes
    assertFalse(recent.contains(key(0)));
    assertTrue(recent.contains(key(1)));
    assertEquals(3L * BLOCK, recent.bytes());
    assertEquals(3, recent.blockCount());
  }

  @Test
  void aBlockReadToItsEndAndThenDroppedIsNotTakenForOneStillHeld() throws IOException {
    RecentBlocks recent = new RecentBlocks(2L * BLOCK);
    fetched(recent, 0);
    fetched(recent, 1);
    assertTrue(readRange(recent, 1, 0, BLOCK)); // read through: first to go ...
    assertTrue(recent.invalidate(key(1))); // ... but gone another way first
    fetched(recent, 1); // held again, not read yet
    fetched(recent, 2); // room for one more: the oldest goes, not the new block 1
    assertFalse(recent.contains(key(0)));
    assertTrue(recent.contains(key(1)) && recent.contains(key(2)));
    assertEquals(2L * BLOCK, recent.bytes());
  }

  @Test
  void displacedAndInvalidatedBlocksGiveTheirBuffersBack() throws IOException {
    RecentBlocks recent = new RecentBlocks(2L * BLOCK);
    fetched(recent, 0);
    fetched(recent, 1);
    assertEquals(0, pool.freeBuffers());
    fetched(recent, 2); // displaces 0
    assertEquals(1, pool.freeBuffers());
    assertTrue(recent.invalidate(key(1)));
    assertFalse(recent.invalidate(key(1)));
    assertEquals(2, pool.freeBuffers());
    recent.clear();
    assertEquals(3, pool.freeBuffers());
    assertEquals(0, recent.bytes());
  }

  @Test
  void shedFreesOneBufferNobodyElseHolds() throws IOException {
    RecentBlocks recent = new RecentBlocks(8L * BLOCK);
    BlockBuffer alsoInRam = block(0);
    assertTrue(recent.hold(key(0), alsoInRam)); // the caller's reference stands for the RAM tier's
    fetched(recent, 1);
    fetched(recent, 2);
    assertTrue(recent.shed());
    assertEquals(1, pool.freeBuffers(), "dropping block 0 freed nothing, so block 1 went too");
    assertFalse(recent.contains(key(0)));
    assertFalse(recent.contains(key(1)));
    assertTrue(recent.contains(key(2)));
    assertTrue(recent.shed());
    assertFalse(recent.shed(), "nothing left to give");
    assertEquals(1, alsoInRam.refCount());
    alsoInRam.release();
  }

  @Test
  void aReaderCopyingWhileTheBlockIsDroppedNeverSeesAReusedBuffer() throws IOException {
    RecentBlocks recent = new RecentBlocks(BLOCK);
    fetched(recent, 5);
    CacheTier.Block found = recent.lookup(key(5), BLOCK);
    assertNotNull(found);
    assertTrue(recent.invalidate(key(5))); // its buffer goes back to the pool ...
    BlockBuffer reused = block(6); // ... and is filled with another block
    assertFalse(found.read(0, ByteBuffer.allocate(16)), "a miss, not block 6's bytes");
    reused.release();
  }

  @Test
  void aBlockLargerThanTheCapacityIsNotHeld() throws IOException {
    RecentBlocks recent = new RecentBlocks(BLOCK - 1);
    BlockBuffer b = block(1);
    assertFalse(recent.hold(key(1), b));
    assertEquals(1, b.refCount(), "no reference taken");
    b.release();
  }

  /** Read-ahead from disk asks first whether one more block would push out an unread one. */
  @Test
  void roomForUnreadCountsOnlyBlocksNotReadToTheirEnd() throws IOException {
    RecentBlocks recent = new RecentBlocks(3L * BLOCK);
    assertTrue(recent.roomForUnread(3L * BLOCK));
    fetched(recent, 1);
    fetched(recent, 2);
    assertTrue(recent.roomForUnread(BLOCK));
    assertFalse(recent.roomForUnread(2L * BLOCK), "two unread blocks and two more do not fit");
    assertTrue(readRange(recent, 1, BLOCK - 10, 10)); // block 1 read to its end
    assertTrue(recent.roomForUnread(2L * BLOCK), "a block read to its end makes room");
    assertTrue(recent.invalidate(key(2)));
    assertTrue(recent.roomForUnread(3L * BLOCK));
    fetched(recent, 3);
    fetched(recent, 4);
    fetched(recent, 5); // displaces block 1 (read through) and keeps 3, 4, 5 unread
    assertFalse(recent.roomForUnread(1));
  }

  @Test
  void nothingIsHeldOnceCleared() throws IOException {
    RecentBlocks recent = new RecentBlocks(4L * BLOCK);
    fetched(recent, 1);
    recent.clear();
    BlockBuffer b = block(2);
    assertFalse(recent.hold(key(2), b), "the cache closed");
    assertEquals(1, b.refCount(), "no reference kept");
    b.release();
    assertEquals(0, recent.bytes());
    assertFalse(recent.roomForUnread(1));
  }
}
