package io.s3cache.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.Counter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(120)
class DiskTierTest {
  private static final int BLOCK = 64 << 10;

  @TempDir Path dir;
  private final Counter errors = new Counter();
  private final Counter rejected = new Counter();
  private final FaultyFileIo io = new FaultyFileIo();
  private ExecutorService pool;

  @AfterEach
  void stopPool() {
    if (pool != null) {
      pool.shutdownNow();
    }
  }

  private DiskTier open(long cap) throws IOException {
    return new DiskTier(dir, BLOCK, cap, false, io, errors, rejected);
  }

  private static BlockKey key(long index) {
    return new BlockKey("bucket", "data/file-ü.bin", "\"etag-1\"", index);
  }

  private static ByteBuffer block(BlockKey key, int length) {
    ByteBuffer heap = FakeBlockSource.expected(key, BLOCK, length);
    return ByteBuffer.allocateDirect(length).put(heap).flip();
  }

  @Test
  void roundTripAndWarmRestart() throws IOException {
    DiskTier disk = open(8L << 20);
    BlockKey a = key(0);
    BlockKey b = key(1);
    ByteBuffer data = block(a, BLOCK);
    assertTrue(disk.insert(a, data));
    assertEquals(0, data.position(), "put must not move the caller's buffer");
    assertTrue(disk.insert(b, block(b, 1000)));
    assertFalse(disk.insert(a, block(a, BLOCK)), "already stored");
    assertEquals(FakeBlockSource.expected(a, BLOCK, BLOCK), disk.get(a, BLOCK));
    assertTrue(disk.get(a, BLOCK).isDirect());
    assertNull(disk.get(key(2), BLOCK));
    long used = disk.bytes();

    DiskTier restarted = open(8L << 20);
    assertEquals(2, restarted.blockCount());
    assertEquals(used, restarted.bytes());
    assertEquals(FakeBlockSource.expected(b, BLOCK, 1000), restarted.get(b, 1000));
    assertEquals(0, errors.getCount());
  }

  @Test
  void layoutIsHashedSubdirectoriesWithHeader() throws IOException {
    DiskTier disk = open(8L << 20);
    BlockKey a = key(7);
    disk.insert(a, block(a, 100));
    String hash = BlockFileFormat.hash(a, BLOCK);
    Path file = dir.resolve("blocks").resolve(hash.substring(0, 2)).resolve(hash + ".blk");
    assertEquals(file, disk.fileFor(a));
    assertEquals(BlockFileFormat.headerLength(a, 100) + 100L, Files.size(file));
    try (Stream<Path> subdirs = Files.list(dir.resolve("blocks"))) {
      assertEquals(256, subdirs.count());
    }
    // Unambiguous identity: moving a character between fields changes the name.
    assertFalse(hash.equals(BlockFileFormat.hash(new BlockKey("bucketd", "ata/file-ü.bin",
        "\"etag-1\"", 7), BLOCK)));
    // The block size is part of the identity: same index, another byte range, another name.
    assertFalse(hash.equals(BlockFileFormat.hash(a, 2 * BLOCK)));
    // Header: magic, version 4, the block size right after the block index, then the chunk size;
    // one chunk checksum for 100 bytes; padded to 4 KiB, so the payload starts aligned.
    ByteBuffer header = ByteBuffer.wrap(Files.readAllBytes(file), 0, 36);
    assertEquals(BlockFileFormat.MAGIC, header.getInt(0));
    assertEquals(4, header.getShort(4));
    assertEquals(BlockFileFormat.headerLength(a, 100), header.getInt(8));
    assertEquals(100, header.getInt(12));
    assertEquals(7L, header.getLong(20));
    assertEquals(BLOCK, header.getInt(28));
    assertEquals(BlockFileFormat.CHUNK_SIZE, header.getInt(32));
    assertEquals(4096, BlockFileFormat.headerLength(a, 100));
    assertEquals(BlockFileFormat.align(36 + 2 + 6 + 2
        + "data/file-ü.bin".getBytes(StandardCharsets.UTF_8).length + 2 + 8 + 4 + 4),
        BlockFileFormat.headerLength(a, 100));
  }

  @Test
  void corruptPayloadByteIsAMissCountedAndDeleted() throws IOException {
    DiskTier disk = open(8L << 20);
    BlockKey a = key(0);
    disk.insert(a, block(a, BLOCK));
    Path file = disk.fileFor(a);
    flipByte(file, Files.size(file) - 10);
    assertBadFileIsMiss(disk, a, file);
  }

  @Test
  void truncatedFileIsAMissCountedAndDeleted() throws IOException {
    DiskTier disk = open(8L << 20);
    BlockKey a = key(0);
    disk.insert(a, block(a, BLOCK));
    Path file = disk.fileFor(a);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.truncate(Files.size(file) / 2);
    }
    assertBadFileIsMiss(disk, a, file);
  }

  @Test
  void wrongMagicIsAMissCountedAndDeleted() throws IOException {
    DiskTier disk = open(8L << 20);
    BlockKey a = key(0);
    disk.insert(a, block(a, BLOCK));
    Path file = disk.fileFor(a);
    flipByte(file, 0);
    assertBadFileIsMiss(disk, a, file);
  }

  @Test
  void fileOfAnotherBlockIsDetected() throws IOException {
    DiskTier disk = open(8L << 20);
    BlockKey a = key(0);
    BlockKey b = key(1);
    disk.insert(a, block(a, BLOCK));
    disk.insert(b, block(b, BLOCK));
    // As if a hash collision or a hand copy put b's bytes under a's name.
    Files.copy(disk.fileFor(b), disk.fileFor(a), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertBadFileIsMiss(disk, a, disk.fileFor(a));
    assertEquals(FakeBlockSource.expected(b, BLOCK, BLOCK), disk.get(b, BLOCK));
  }

  @Test
  void fileOfAnotherBlockSizeUnderThisNameIsAMiss() throws IOException {
    BlockKey a = key(1);
    // A block of the same index and length, cut with twice the block size: another byte range.
    DiskTier twice = new DiskTier(dir, 2 * BLOCK, 8L << 20, false, io, errors, rejected);
    assertTrue(twice.insert(a, block(a, 1000)));
    Path saved = Files.copy(twice.fileFor(a), dir.resolve("saved.blk"));

    DiskTier disk = open(8L << 20);
    assertEquals(1, disk.startUpScan().otherBlockSize());
    assertEquals(0, disk.startUpScan().bad());
    assertEquals(0, errors.getCount(), "a block size change is not an error");
    assertTrue(disk.insert(a, block(a, 1000)));
    // As if copied by hand (or a hash collision) under this block size's name.
    Files.copy(saved, disk.fileFor(a), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertNull(disk.get(a, 1000));
    assertEquals(1, errors.getCount());
    assertFalse(Files.exists(disk.fileFor(a)));
    assertFalse(disk.contains(a));
  }

  @Test
  void startUpDeletesBlocksOfAnotherBlockSizeAndKeepsTheRest() throws IOException {
    DiskTier twice = new DiskTier(dir, 2 * BLOCK, 8L << 20, false, io, errors, rejected);
    for (int i = 0; i < 3; i++) {
      assertTrue(twice.insert(key(i), block(key(i), 2 * BLOCK)));
    }
    DiskTier disk = open(8L << 20);
    assertEquals(0, disk.blockCount());
    assertTrue(disk.insert(key(0), block(key(0), BLOCK)));
    assertTrue(disk.insert(key(5), block(key(5), 100)));
    assertEquals(new DiskTierScan.Result(0, 3, 0, 0, 0), disk.startUpScan());

    DiskTier restarted = open(8L << 20);
    assertEquals(new DiskTierScan.Result(2, 0, 0, 0, 0), restarted.startUpScan());
    assertEquals(disk.bytes(), restarted.bytes(), "the deleted files are not charged");
    assertEquals(FakeBlockSource.expected(key(0), BLOCK, BLOCK), restarted.get(key(0), BLOCK));
    assertEquals(0, errors.getCount());
  }

  @Test
  void blockLongerThanTheBlockSizeIsNotStored() throws IOException {
    DiskTier disk = open(8L << 20);
    BlockKey a = key(0);
    ByteBuffer tooLong = ByteBuffer.allocateDirect(BLOCK + 1);
    assertFalse(disk.insert(a, tooLong));
    assertFalse(disk.contains(a));
    assertEquals(1, errors.getCount());
    assertEquals(DiskTier.DIRECTORY_RESERVE, disk.bytes());
  }

  @Test
  void versionOneFileIsDeletedAtStartUpWithoutAnError() throws IOException {
    DiskTier disk = open(8L << 20);
    BlockKey a = key(0);
    disk.insert(a, block(a, 5000));
    Path file = disk.fileFor(a);
    // Only the version field differs: refused on the version, before any checksum.
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.allocate(2).putShort(0, (short) 1), 4);
    }
    DiskTier restarted = open(8L << 20);
    assertEquals(new DiskTierScan.Result(0, 0, 1, 0, 0), restarted.startUpScan());
    assertFalse(Files.exists(file));
    assertEquals(0, errors.getCount());
    assertEquals(DiskTier.DIRECTORY_RESERVE, restarted.bytes());
  }

  /** A block file of the format before the aligned payload (version 3) is never read as one. */
  @Test
  void versionThreeFileIsDeletedAtStartUpWithoutAnError() throws IOException {
    DiskTier disk = open(8L << 20);
    BlockKey a = key(0);
    disk.insert(a, block(a, 5000));
    Path file = disk.fileFor(a);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.allocate(2).putShort(0, (short) 3), 4);
    }
    DiskTier restarted = open(8L << 20);
    assertEquals(new DiskTierScan.Result(0, 0, 1, 0, 0), restarted.startUpScan());
    assertFalse(Files.exists(file));
    assertEquals(0, errors.getCount());
  }

  private static ByteBuffer alignedBlock(BlockKey key) {
    ByteBuffer aligned = ByteBuffer.allocateDirect(BLOCK + BlockFileFormat.ALIGNMENT)
        .alignedSlice(BlockFileFormat.ALIGNMENT);
    return aligned.put(FakeBlockSource.expected(key, BLOCK, BLOCK)).flip();
  }

  /** A whole block in an aligned buffer (as the buffer pool gives) is written and read back. */
  @Test
  void alignedBlockRoundTripsWithItsPayloadAtA4KiBBoundary() throws IOException {
    DiskTier disk = open(8L << 20);
    BlockKey a = key(3);
    assertTrue(disk.insert(a, alignedBlock(a)));
    assertEquals(FakeBlockSource.expected(a, BLOCK, BLOCK), disk.get(a, BLOCK));
    assertEquals(4096L + BLOCK, Files.size(disk.fileFor(a)));
    ByteBuffer range = ByteBuffer.allocate(1000);
    assertTrue(disk.read(a, BLOCK, 60_000, range));
    assertEquals(FakeBlockSource.expected(a, BLOCK, BLOCK).position(60_000).limit(61_000),
        range.flip());
  }

  /** A filesystem that refuses O_DIRECT (some tmpfs): the tier writes through the page cache. */
  @Test
  void refusedDirectWritesFallBackToThePageCacheForGood() throws IOException {
    DiskTier disk = open(8L << 20);
    io.refuseDirect = true;
    BlockKey a = key(4);
    BlockKey b = key(5);
    assertTrue(disk.insert(a, alignedBlock(a)), "written through the page cache instead");
    assertFalse(disk.directWrites());
    assertTrue(disk.insert(b, alignedBlock(b)));
    assertEquals(FakeBlockSource.expected(a, BLOCK, BLOCK), disk.get(a, BLOCK));
    assertEquals(FakeBlockSource.expected(b, BLOCK, BLOCK), disk.get(b, BLOCK));
    assertEquals(0, errors.getCount());
    assertEquals(DiskTier.DIRECTORY_RESERVE + 2 * (4096L + BLOCK),
        DiskUsage.rounded(dir), "no temp file left behind");
  }

  /** A direct write that finds the disk full fails that block only; it says nothing of O_DIRECT. */
  @Test
  void aFailedDirectWriteKeepsDirectWritesOn() throws IOException {
    DiskTier disk = open(8L << 20);
    io.directWritesFindTheDiskFull = true;
    BlockKey a = key(6);
    assertFalse(disk.insert(a, alignedBlock(a)), "not stored: the disk was full");
    assertTrue(disk.directWrites(), "a full disk does not turn direct writes off");
    io.directWritesFindTheDiskFull = false;
    assertTrue(disk.insert(a, alignedBlock(a)));
    assertEquals(FakeBlockSource.expected(a, BLOCK, BLOCK), disk.get(a, BLOCK));
    assertEquals(DiskTier.DIRECTORY_RESERVE + 4096L + BLOCK, DiskUsage.rounded(dir), "no temp file left behind");
  }

  private void assertBadFileIsMiss(DiskTier disk, BlockKey a, Path file) {
    long before = errors.getCount();
    assertNull(disk.get(a, BLOCK));
    assertEquals(before + 1, errors.getCount());
    assertFalse(Files.exists(file));
    assertFalse(disk.contains(a));
    assertEquals(DiskTier.DIRECTORY_RESERVE + (disk.blockCount() == 0 ? 0
        : disk.blockCount() * DiskTier.charge(BlockFileFormat.headerLength(a, BLOCK) + (long) BLOCK)),
        disk.bytes());
    assertTrue(disk.insert(a, block(a, BLOCK)), "can be stored again");
    assertEquals(FakeBlockSource.expected(a, BLOCK, BLOCK), disk.get(a, BLOCK));
  }

  @Test
  void startUpDeletesTempAndBadFiles() throws IOException {
    DiskTier disk = open(8L << 20);
    BlockKey good = key(0);
    BlockKey bad = key(1);
    disk.insert(good, block(good, 5000));
    disk.insert(bad, block(bad, 5000));
    flipByte(disk.fileFor(bad), 20); // inside the header: caught by the header checksum
    Path temp = disk.fileFor(good).resolveSibling("leftover.9.tmp");
    Files.write(temp, new byte[12345]);

    DiskTier restarted = open(8L << 20);
    assertFalse(Files.exists(temp));
    assertFalse(Files.exists(disk.fileFor(bad)));
    assertEquals(1, restarted.blockCount());
    assertEquals(1, errors.getCount());
    assertNotNull(restarted.get(good, 5000));
  }

  @Test
  void lookupHandleReadsARangeAndABlockGoneSinceIsAMiss() throws IOException {
    DiskTier disk = open(8L << 20);
    BlockKey a = key(0);
    assertNull(disk.lookup(a, BLOCK), "not stored");
    disk.insert(a, block(a, BLOCK));
    CacheTier.Block held = disk.lookup(a, BLOCK);
    assertEquals(BLOCK, held.length());
    ByteBuffer range = ByteBuffer.allocate(300);
    assertTrue(held.read(1000, range));
    assertEquals(FakeBlockSource.expected(a, BLOCK, BLOCK).position(1000).limit(1300),
        range.flip());

    CacheTier.Block stale = disk.lookup(a, BLOCK);
    assertTrue(disk.invalidate(a));
    ByteBuffer untouched = ByteBuffer.allocate(10);
    assertFalse(stale.read(0, untouched), "evicted after the look-up: a miss");
    assertEquals(0, untouched.position());
    assertNull(stale.readAll());
    assertEquals(0, errors.getCount(), "a block evicted under a reader is no error");
  }

  @Test
  void readFailureIsAMissAndNeverThrows() throws IOException {
    DiskTier disk = open(8L << 20);
    BlockKey a = key(0);
    disk.insert(a, block(a, BLOCK));
    io.failReads = true;
    assertNull(disk.get(a, BLOCK));
    assertEquals(1, errors.getCount());
    assertFalse(disk.contains(a));
  }

  @Test
  void failedWriteLeavesNothingBehind() throws IOException {
    DiskTier disk = open(8L << 20);
    BlockKey a = key(0);
    io.failMoves = true;
    assertFalse(disk.insert(a, block(a, BLOCK)));
    assertEquals(1, errors.getCount());
    assertEquals(DiskTier.DIRECTORY_RESERVE, disk.bytes());
    assertEquals(DiskTier.DIRECTORY_RESERVE, DiskUsage.rounded(dir),
        "the temp file was removed");
    io.failMoves = false;
    io.failWrites = true;
    assertFalse(disk.insert(a, block(a, BLOCK)));
    assertEquals(2, errors.getCount());
    assertEquals(DiskTier.DIRECTORY_RESERVE, disk.bytes());
  }

  @Test
  void evictsLeastRecentlyUsed() throws IOException {
    long perBlock = DiskTier.charge(BlockFileFormat.headerLength(key(0), BLOCK) + (long) BLOCK);
    DiskTier disk = open(DiskTier.DIRECTORY_RESERVE + 4 * perBlock);
    for (int i = 0; i < 4; i++) {
      assertTrue(disk.insert(key(i), block(key(i), BLOCK)));
    }
    assertNotNull(disk.get(key(0), BLOCK)); // 0 is now the most recent
    assertTrue(disk.insert(key(4), block(key(4), BLOCK)));
    assertTrue(disk.contains(key(0)));
    assertFalse(disk.contains(key(1)), "the least recently used block goes first");
    assertTrue(disk.contains(key(4)));
  }

  @Test
  void blockLargerThanTheCapIsRefused() throws IOException {
    DiskTier disk = open(DiskTier.DIRECTORY_RESERVE + BLOCK);
    BlockKey small = key(0);
    assertTrue(disk.insert(small, block(small, 1000)));
    BlockKey big = key(1);
    assertFalse(disk.insert(big, block(big, BLOCK)));
    assertEquals(1, rejected.getCount());
    assertTrue(disk.contains(small), "a hopeless block does not empty the cache");
    assertTrue(DiskUsage.du(dir) <= disk.capBytes());
  }

  @Test
  void capIsNeverExceededWithManyConcurrentWriters() throws Exception {
    long cap = 2L << 20;
    DiskTier disk = open(cap);
    Path blocks = dir.resolve("blocks");
    int threads = 8;
    int perThread = 24; // 192 blocks of up to 64 KiB: over 3x the cap
    // du is not a snapshot: walking the tree while files are deleted and created in
    // directories it has yet to visit can count a file and its replacement together. So
    // writers run concurrently with each other, but each du runs while no put or get does.
    ReadWriteLock quiesce = new ReentrantReadWriteLock();
    pool = Executors.newFixedThreadPool(threads);
    List<Future<Long>> results = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int thread = t;
      results.add(pool.submit(() -> {
        long maxSeen = 0;
        for (int i = 0; i < perThread; i++) {
          int n = thread * perThread + i;
          BlockKey k = key(n);
          int length = lengthOf(n);
          quiesce.readLock().lock();
          try {
            disk.insert(k, block(k, length));
            if (n % 2 == 0) {
              disk.get(key(n / 2), lengthOf(n / 2)); // reads race with evictions
            }
            assertTrue(disk.bytes() <= cap, "accounted usage over the cap");
          } finally {
            quiesce.readLock().unlock();
          }
          quiesce.writeLock().lock();
          try {
            maxSeen = Math.max(maxSeen, DiskUsage.du(blocks));
          } finally {
            quiesce.writeLock().unlock();
          }
        }
        return maxSeen;
      }));
    }
    long written = 0;
    for (int n = 0; n < threads * perThread; n++) {
      written += lengthOf(n);
    }
    assertTrue(written > 3 * cap, "the test writes well over the cap");
    for (Future<Long> r : results) {
      long seen = r.get();
      assertTrue(seen <= cap, "du saw " + seen + " > cap " + cap);
    }
    long du = DiskUsage.du(blocks);
    assertTrue(du <= cap, "du " + du + " > cap " + cap);
    assertTrue(DiskUsage.rounded(blocks) <= disk.bytes(), "accounting is conservative");
    assertTrue(disk.blockCount() > 5, "the cache still holds blocks");
    assertEquals(0, errors.getCount());
    assertTrue(disk.bytes() <= cap);
  }

  @Test
  void restartWithSmallerCapEvictsDownToIt() throws IOException {
    DiskTier disk = open(8L << 20);
    for (int i = 0; i < 20; i++) {
      disk.insert(key(i), block(key(i), BLOCK));
    }
    long cap = 2L << 20;
    DiskTier smaller = open(cap);
    assertTrue(smaller.bytes() <= cap);
    assertTrue(DiskUsage.du(dir) <= cap);
    assertTrue(smaller.blockCount() > 0);
  }

  /** Varied block lengths, 32 KiB to 64 KiB. */
  private static int lengthOf(int n) {
    return BLOCK / 2 + (n * 7919) % (BLOCK / 2) + 1;
  }

  private static void flipByte(Path file, long position) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer one = ByteBuffer.allocate(1);
      ch.read(one, position);
      one.put(0, (byte) (one.get(0) ^ 0x5A)).rewind();
      ch.write(one, position);
    }
  }
}
