package io.s3cache.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.util.HexFormat;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Disk-tier hits served by positional reads of the chunks a range touches (format 3). */
@Timeout(60)
class DiskTierRangeReadTest {
  private static final int CHUNK = BlockFileFormat.CHUNK_SIZE;
  private static final int BLOCK = 4 * CHUNK;

  @TempDir Path dir;
  private final Counter errors = new Counter();
  private final Counter rejected = new Counter();
  private final Counter corrupt = new Counter();
  private final FaultyFileIo io = new FaultyFileIo();
  private DiskTier disk;
  private CacheDatabase db;

  @AfterEach
  void tearDown() {
    if (disk != null) {
      disk.close();
      assertEquals(0, disk.openFiles(), "block files left open");
    }
    if (db != null) {
      db.close();
    }
  }

  private DiskTier open() throws IOException {
    disk = new DiskTier(dir, BLOCK, 64L << 20, false, io, errors, rejected, corrupt, db, 0,
        DiskTierScan.DEFAULT_REPAIR_BUDGET_NANOS, null);
    return disk;
  }

  private static BlockKey key(long index) {
    return new BlockKey("bucket", "data/shard.tar", "\"etag-1\"", index);
  }

  private static ByteBuffer expected(BlockKey k, int from, int n) {
    return FakeBlockSource.expected(k, BLOCK, BLOCK).position(from).limit(from + n).slice();
  }

  private void store(BlockKey k) {
    ByteBuffer heap = FakeBlockSource.expected(k, BLOCK, BLOCK);
    assertTrue(disk.insert(k, ByteBuffer.allocateDirect(BLOCK).put(heap).flip()));
  }

  /** Reads a range through the tier's look-up handle, as the block cache does. */
  private ByteBuffer read(BlockKey k, int from, int n) {
    CacheTier.Block block = disk.lookup(k, BLOCK);
    if (block == null) {
      return null;
    }
    ByteBuffer dst = ByteBuffer.allocateDirect(n);
    return block.read(from, dst) ? dst.flip() : null;
  }

  private void flipPayloadByte(BlockKey k, int offsetInPayload) throws IOException {
    long at = BlockFileFormat.headerLength(k, BLOCK) + (long) offsetInPayload;
    try (FileChannel ch = FileChannel.open(disk.fileFor(k), StandardOpenOption.READ,
        StandardOpenOption.WRITE)) {
      ByteBuffer one = ByteBuffer.allocate(1);
      ch.read(one, at);
      ch.write(ByteBuffer.wrap(new byte[] {(byte) ~one.get(0)}), at);
    }
  }

  @Test
  void alignedAndUnalignedRangesReadTheRightBytes() throws IOException {
    open();
    BlockKey a = key(3);
    store(a);
    assertEquals(expected(a, 0, 2 * CHUNK), read(a, 0, 2 * CHUNK));
    assertEquals(expected(a, CHUNK - 7, 3), read(a, CHUNK - 7, 3));
    assertEquals(expected(a, 1000, 2 * CHUNK + 5), read(a, 1000, 2 * CHUNK + 5));
    assertEquals(expected(a, BLOCK - 1, 1), read(a, BLOCK - 1, 1));
    ByteBuffer heap = ByteBuffer.allocate(100);
    assertTrue(disk.lookup(a, BLOCK).read(3 * CHUNK + 10, heap));
    assertEquals(expected(a, 3 * CHUNK + 10, 100), heap.flip());
    assertEquals(FakeBlockSource.expected(a, BLOCK, BLOCK), disk.get(a, BLOCK));
    assertEquals(1, io.readOpens.get(), "reads share one open file");
    assertEquals(0, errors.getCount());
  }

  /** A buffer like a pooled block buffer: direct, aligned for O_DIRECT. */
  private static ByteBuffer aligned(int n) {
    return ByteBuffer.allocateDirect(n + BlockFileFormat.ALIGNMENT)
        .alignedSlice(BlockFileFormat.ALIGNMENT).limit(n);
  }

  @Test
  void aWholeBlockIsReadInOneDirectReadWhereTheFilesystemAllowsIt() throws IOException {
    open();
    BlockKey a = key(4);
    store(a);
    ByteBuffer dst = aligned(BLOCK);
    assertTrue(disk.readWhole(a, BLOCK, dst));
    assertEquals(FakeBlockSource.expected(a, BLOCK, BLOCK), dst.flip());
    // Direct reads need what direct writes need; where the filesystem refuses them (some tmpfs),
    // the page cache serves the same bytes.
    assertEquals(disk.directWrites() ? 1 : 0, io.directReadOpens.get());
    ByteBuffer heap = ByteBuffer.allocate(BLOCK);
    assertTrue(disk.readWhole(a, BLOCK, heap), "any other buffer is read through the page cache");
    assertEquals(FakeBlockSource.expected(a, BLOCK, BLOCK), heap.flip());
    assertEquals(disk.directWrites() ? 1 : 0, io.directReadOpens.get());
    assertEquals(0, errors.getCount());
  }

  @Test
  void refusedDirectReadsFallBackToThePageCacheForGood() throws IOException {
    open();
    BlockKey a = key(5);
    store(a);
    io.refuseDirect = true;
    for (int i = 0; i < 2; i++) {
      ByteBuffer dst = aligned(BLOCK);
      assertTrue(disk.readWhole(a, BLOCK, dst));
      assertEquals(FakeBlockSource.expected(a, BLOCK, BLOCK), dst.flip());
    }
    io.refuseDirect = false;
    ByteBuffer dst = aligned(BLOCK);
    assertTrue(disk.readWhole(a, BLOCK, dst));
    assertEquals(FakeBlockSource.expected(a, BLOCK, BLOCK), dst.flip());
    assertEquals(0, io.directReadOpens.get(), "not tried again after the refusal");
    assertEquals(0, errors.getCount(), "a refusal is no read error");
  }

  @Test
  void aFailedDirectReadFallsBackToThePageCacheWithoutDroppingTheFile() throws IOException {
    open();
    BlockKey a = key(8);
    store(a);
    io.failDirectOpens = true; // e.g. out of file descriptors: no refusal, no fault of the file
    ByteBuffer dst = aligned(BLOCK);
    assertTrue(disk.readWhole(a, BLOCK, dst));
    assertEquals(FakeBlockSource.expected(a, BLOCK, BLOCK), dst.flip());
    assertEquals(0, errors.getCount());
    assertTrue(disk.contains(a));
    io.failDirectOpens = false;
    assertTrue(disk.readWhole(a, BLOCK, aligned(BLOCK)));
    assertEquals(disk.directWrites() ? 1 : 0, io.directReadOpens.get(), "direct reads stay on");
  }

  @Test
  void aCorruptChunkFailsAWholeBlockReadAndDropsTheFile() throws IOException {
    open();
    BlockKey a = key(6);
    store(a);
    flipPayloadByte(a, 3 * CHUNK + 5);
    ByteBuffer dst = aligned(BLOCK);
    assertFalse(disk.readWhole(a, BLOCK, dst), "wrong bytes are never handed out");
    assertEquals(0, dst.position());
    assertEquals(1, corrupt.getCount());
    assertFalse(disk.contains(a));
    assertFalse(Files.exists(disk.fileFor(a)));
  }

  @Test
  void aFileCutShortUnderAWholeBlockReadIsAMiss() throws IOException {
    open();
    BlockKey a = key(7);
    store(a);
    assertEquals(expected(a, 0, 10), read(a, 0, 10)); // header checked, file kept open
    try (FileChannel ch = FileChannel.open(disk.fileFor(a), StandardOpenOption.WRITE)) {
      ch.truncate(BlockFileFormat.headerLength(a, BLOCK) + 2L * CHUNK);
    }
    assertFalse(disk.readWhole(a, BLOCK, aligned(BLOCK)));
    assertEquals(1, corrupt.getCount());
    assertFalse(disk.contains(a));
  }

  @Test
  void aCorruptChunkFailsOnlyTheReadsThatTouchIt() throws IOException {
    open();
    BlockKey a = key(0);
    store(a);
    assertEquals(expected(a, 0, CHUNK), read(a, 0, CHUNK)); // the file is open and cached now
    flipPayloadByte(a, 2 * CHUNK + 17);
    assertEquals(expected(a, 0, 2 * CHUNK), read(a, 0, 2 * CHUNK), "chunks 0-1 are intact");
    assertEquals(expected(a, 3 * CHUNK, CHUNK), read(a, 3 * CHUNK, CHUNK), "so is chunk 3");
    assertEquals(0, corrupt.getCount());

    ByteBuffer dst = ByteBuffer.allocateDirect(CHUNK);
    assertFalse(disk.lookup(a, BLOCK).read(2 * CHUNK, dst), "wrong bytes are never served");
    assertEquals(0, dst.position());
    assertEquals(1, corrupt.getCount());
    assertEquals(1, errors.getCount());
    assertFalse(disk.contains(a), "the corrupt block is dropped");
    assertFalse(Files.exists(disk.fileFor(a)));
    assertNull(read(a, 0, CHUNK));
    store(a); // re-fetched
    assertEquals(expected(a, 2 * CHUNK, CHUNK), read(a, 2 * CHUNK, CHUNK));
  }

  @Test
  void aTruncatedFileIsAMiss() throws IOException {
    open();
    BlockKey a = key(1);
    store(a);
    assertEquals(expected(a, 0, 10), read(a, 0, 10));
    try (FileChannel ch = FileChannel.open(disk.fileFor(a), StandardOpenOption.WRITE)) {
      ch.truncate(BlockFileFormat.headerLength(a, BLOCK) + 3L * CHUNK);
    }
    assertEquals(expected(a, 0, 10), read(a, 0, 10));
    assertNull(read(a, 3 * CHUNK, 10));
    assertEquals(1, corrupt.getCount());
    assertFalse(disk.contains(a));
  }

  @Test
  void anEvictionRacingAReadGivesTheRightBytesOrAMiss() throws IOException {
    open();
    BlockKey a = key(2);
    store(a);
    // Evicted right after the reader opened the file: the open file is still read whole.
    io.afterOpenRead = () -> assertTrue(disk.invalidate(a));
    assertEquals(expected(a, CHUNK, CHUNK), read(a, CHUNK, CHUNK));
    io.afterOpenRead = () -> {};
    assertFalse(Files.exists(disk.fileFor(a)));
    assertEquals(0, disk.openFiles(), "the evicted file is not kept open");

    // Evicted between the look-up and the read: a miss.
    store(a);
    CacheTier.Block block = disk.lookup(a, BLOCK);
    assertTrue(disk.invalidate(a));
    assertFalse(block.read(0, ByteBuffer.allocate(10)));

    // Evicted while its file is open in the cache: the next read misses, the file is closed.
    store(a);
    assertEquals(expected(a, 0, 10), read(a, 0, 10));
    assertEquals(1, disk.openFiles());
    assertTrue(disk.invalidate(a));
    assertEquals(0, disk.openFiles());
    assertNull(read(a, 0, 10));
    assertEquals(0, errors.getCount(), "an eviction is no error");
    assertEquals(0, corrupt.getCount());
  }

  @Test
  void aFileOfTheNextFormatVersionIsNotMisread() throws IOException {
    open();
    BlockKey a = key(4);
    store(a);
    Path file = disk.fileFor(a);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.allocate(2).putShort(0, (short) (BlockFileFormat.VERSION + 1)), 4);
    }
    assertNull(read(a, 0, 10));
    assertFalse(disk.contains(a));
  }

  @Test
  void version2FilesAndTheirIndexRecordsAreDroppedAtStart() throws IOException {
    db = CacheDatabase.open(dir.resolve("index"));
    open();
    store(key(0)); // a format 3 block, kept
    disk.close();
    BlockKey old = key(1);
    byte[] payload = new byte[BLOCK];
    FakeBlockSource.expected(old, BLOCK, BLOCK).get(payload);
    Path file = writeVersion2File(old, payload);
    db.putBlock(HexFormat.of().parseHex(BlockFileFormat.hash(old, BLOCK)),
        version1Record(old, payload, Files.size(file)));
    db.close();

    db = CacheDatabase.open(dir.resolve("index"));
    open();
    assertFalse(Files.exists(file), "the version 2 file is deleted at start");
    assertFalse(disk.contains(old));
    assertNull(read(old, 0, 10));
    assertEquals(expected(key(0), 0, 10), read(key(0), 0, 10));
    assertEquals(0, corrupt.getCount());
  }

  /** A block file as format version 2 wrote it: one CRC32C over the whole payload. */
  private Path writeVersion2File(BlockKey k, byte[] payload) throws IOException {
    byte[][] fields = {k.bucket().getBytes(StandardCharsets.UTF_8),
        k.key().getBytes(StandardCharsets.UTF_8), k.etag().getBytes(StandardCharsets.UTF_8)};
    int headerLength = 32 + 6 + fields[0].length + fields[1].length + fields[2].length + 4;
    ByteBuffer buf = ByteBuffer.allocate(headerLength + payload.length);
    buf.putInt(BlockFileFormat.MAGIC).putShort((short) 2).putShort((short) 0)
        .putInt(headerLength).putInt(payload.length).putInt(crc(payload, payload.length))
        .putLong(k.index()).putInt(BLOCK);
    for (byte[] f : fields) {
      buf.putShort((short) f.length).put(f);
    }
    buf.putInt(crc(buf.array(), buf.position())).put(payload);
    Path path = disk.fileFor(k);
    Files.write(path, buf.array());
    return path;
  }

  /** An index record as version 1 wrote it (for format 2 files). */
  private static byte[] version1Record(BlockKey k, byte[] payload, long fileLength) {
    byte[][] fields = {k.bucket().getBytes(StandardCharsets.UTF_8),
        k.key().getBytes(StandardCharsets.UTF_8), k.etag().getBytes(StandardCharsets.UTF_8)};
    ByteBuffer buf = ByteBuffer.allocate(37 + 6 + fields[0].length + fields[1].length
        + fields[2].length);
    buf.put((byte) 1).putInt(BLOCK).putInt(payload.length).putInt(crc(payload, payload.length))
        .putLong(fileLength).putLong(1).putLong(k.index());
    for (byte[] f : fields) {
      buf.putShort((short) f.length).put(f);
    }
    return buf.array();
  }

  private static int crc(byte[] bytes, int n) {
    CRC32C c = new CRC32C();
    c.update(bytes, 0, n);
    return (int) c.getValue();
  }
}
