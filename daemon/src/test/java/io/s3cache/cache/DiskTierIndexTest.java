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
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The disk tier over its RocksDB index: warm restarts, start-up repair, integrity, the floor. */
@Timeout(120)
class DiskTierIndexTest {
  private static final int BLOCK = 64 << 10;
  private static final long CAP = 64L << 20;

  @TempDir Path dir;
  private final Counter errors = new Counter();
  private final Counter rejected = new Counter();
  private final Counter corrupt = new Counter();
  private final CountingIo io = new CountingIo();
  private CacheDatabase db;

  @AfterEach
  void closeDb() {
    if (db != null) {
      db.close();
    }
  }

  /** Opens the tier as a (re)started daemon would: database first, then the tier over it. */
  private DiskTier start() throws IOException {
    return start(DiskTierScan.DEFAULT_REPAIR_BUDGET_NANOS, null, 0);
  }

  private DiskTier start(long budgetNanos, java.util.function.LongSupplier free, long minFree)
      throws IOException {
    if (db != null) {
      db.close();
    }
    db = CacheDatabase.open(dir.resolve("index"));
    return new DiskTier(dir, BLOCK, CAP, false, io, errors, rejected, corrupt, db, minFree,
        budgetNanos, free);
  }

  private static BlockKey key(long index) {
    return new BlockKey("bucket", "data/ü file.bin", "\"etag-1\"", index);
  }

  private static ByteBuffer block(BlockKey key, int length) {
    return ByteBuffer.allocateDirect(length).put(FakeBlockSource.expected(key, BLOCK, length)).flip();
  }

  private void fill(DiskTier disk, int n) {
    for (int i = 0; i < n; i++) {
      assertTrue(disk.insert(key(i), block(key(i), BLOCK)));
    }
  }

  private List<Path> blockFiles() throws IOException {
    try (Stream<Path> files = Files.walk(dir.resolve("blocks"))) {
      return files.filter(f -> f.toString().endsWith(".blk")).sorted().toList();
    }
  }

  @Test
  void aRestartLoadsTheIndexWithoutReadingAnyBlockFile() throws IOException {
    fill(start(), 5);
    io.reads.set(0);
    DiskTier restarted = start();
    assertEquals(0, io.reads.get(), "a restart must not open block files");
    assertNull(restarted.startUpScan(), "the index was used, not a scan");
    assertEquals(new DiskTierScan.Repair(5, 0, 0, 0, 0, false, restarted.startUpRepair().millis()),
        restarted.startUpRepair());
    for (int i = 0; i < 5; i++) {
      assertEquals(FakeBlockSource.expected(key(i), BLOCK, BLOCK), restarted.get(key(i), BLOCK));
    }
    assertEquals(0, errors.getCount());
  }

  @Test
  void aFreshDatabaseOverExistingFilesIndexesThemByTheirHeaders() throws IOException {
    fill(start(), 3);
    db.close();
    try (Stream<Path> files = Files.walk(dir.resolve("index"))) {
      for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p); // the index is lost (or a release before the index)
      }
    }
    db = null;
    DiskTier restarted = start();
    assertEquals(3, restarted.startUpScan().indexed());
    assertEquals(FakeBlockSource.expected(key(2), BLOCK, BLOCK), restarted.get(key(2), BLOCK));
    // ...and the scan recorded them: the next restart needs no scan.
    io.reads.set(0);
    DiskTier again = start();
    assertEquals(3, again.startUpRepair().fromIndex());
    assertEquals(0, io.reads.get());
  }

  /**
   * Review leftover (issue 14): every open of a block file wrote its record again, the first open
   * after the write too; now an open writes it only when reads moved its last access since.
   */
  @Test
  void anOpenRecordsTheAccessOnlyWhenItChangedSinceTheRecord() throws IOException {
    DiskTier disk = start();
    fill(disk, 1);
    assertEquals(1, disk.recordWrites(), "the write's record");
    ByteBuffer range = ByteBuffer.allocate(100);
    assertTrue(disk.read(key(0), BLOCK, 0, range)); // first open: nothing read since the record
    assertEquals(1, disk.recordWrites());
    disk.close(); // drops the open file: the next read opens it again
    assertTrue(disk.read(key(0), BLOCK, 0, range.clear()));
    assertEquals(2, disk.recordWrites(), "read since its record: the open records the access");
    disk.close();
    DiskTier restarted = start();
    assertEquals(1, restarted.startUpRepair().fromIndex());
    assertTrue(restarted.read(key(0), BLOCK, 0, range.clear()));
    assertEquals(0, restarted.recordWrites(), "loaded from its record: nothing changed yet");
  }

  /** With an executor (the daemon's disk writer) the record is written there, not by the reader. */
  @Test
  void accessRecordsAreWrittenOnTheGivenExecutorOncePerQueueing() throws IOException {
    DiskTier disk = start();
    java.util.List<Runnable> tasks = new java.util.ArrayList<>();
    disk.recordAccessesOn(tasks::add);
    fill(disk, 2);
    assertEquals(2, disk.recordWrites(), "the writes' records");
    ByteBuffer range = ByteBuffer.allocate(100);
    assertTrue(disk.read(key(0), BLOCK, 0, range));
    assertTrue(disk.read(key(1), BLOCK, 0, range.clear())); // first opens: nothing to record
    disk.close();
    assertTrue(disk.read(key(0), BLOCK, 0, range.clear()));
    assertTrue(disk.read(key(1), BLOCK, 0, range.clear()));
    assertEquals(2, disk.recordWrites(), "the reader wrote no record");
    assertEquals(1, tasks.size(), "one run queued for both records");
    tasks.remove(0).run();
    assertEquals(4, disk.recordWrites());
    disk.close();
    DiskTier restarted = start();
    assertEquals(2, restarted.startUpRepair().fromIndex());
  }

  @Test
  void aDamagedDatabaseIsRebuiltFromTheBlockFiles() throws IOException {
    fill(start(), 2);
    db.close();
    db = null;
    try (Stream<Path> files = Files.list(dir.resolve("index"))) {
      for (Path p : files.filter(f -> f.getFileName().toString().startsWith("MANIFEST")).toList()) {
        Files.write(p, new byte[] {1, 2, 3}); // garbage: RocksDB refuses to open it
      }
    }
    DiskTier restarted = start();
    assertTrue(db.isNew());
    assertEquals(2, restarted.startUpScan().indexed());
    assertNotNull(restarted.get(key(1), BLOCK));
  }

  @Test
  void startUpRepairAdoptsFilesWithoutARecordAndDropsRecordsWithoutAFile() throws IOException {
    DiskTier disk = start();
    fill(disk, 4);
    List<Path> files = blockFiles();
    // A crash between rename and record: the file of key(0) has no record.
    Path orphan = disk.fileFor(key(0));
    db.deleteBlock(HexFormat.of().parseHex(orphan.getFileName().toString().replace(".blk", "")));
    // A file lost behind the index's back: key(1)'s record has no file.
    Files.delete(disk.fileFor(key(1)));
    // A temp file a crash left.
    Files.write(files.get(0).resolveSibling("deadbeef.7.tmp"), new byte[100]);

    DiskTier restarted = start();
    DiskTierScan.Repair r = restarted.startUpRepair();
    assertEquals(2, r.fromIndex());
    assertEquals(1, r.orphansAdopted());
    assertEquals(0, r.orphansDeleted());
    assertEquals(1, r.recordsWithoutFile());
    assertEquals(1, r.temps());
    assertNotNull(restarted.get(key(0), BLOCK), "the adopted orphan is served");
    assertNull(restarted.get(key(1), BLOCK));
    assertEquals(3, restarted.blockCount());

    // The repair was written back: a second restart finds everything in order.
    DiskTier again = start();
    assertEquals(new DiskTierScan.Repair(3, 0, 0, 0, 0, false, again.startUpRepair().millis()),
        again.startUpRepair());
  }

  @Test
  void repairIsBoundedInTimeOrphansBeyondTheBudgetAreDeletedUnread() throws IOException {
    DiskTier disk = start();
    fill(disk, 3);
    db.close();
    db = null;
    // Drop every record but keep the database: all three files are orphans now.
    CacheDatabase fresh = CacheDatabase.open(dir.resolve("index"));
    List<byte[]> ids = new java.util.ArrayList<>();
    fresh.forEachBlock((id, v) -> ids.add(id));
    for (byte[] id : ids) {
      fresh.deleteBlock(id);
    }
    fresh.close();
    io.reads.set(0);
    DiskTier restarted = start(0, null, 0); // no time at all for reading headers
    DiskTierScan.Repair r = restarted.startUpRepair();
    assertTrue(r.budgetExhausted());
    assertEquals(3, r.orphansDeleted());
    assertEquals(0, io.reads.get(), "files beyond the budget are not read");
    assertEquals(0, blockFiles().size());
    assertEquals(0, restarted.blockCount());
  }

  @Test
  void aCorruptedBlockIsCaughtOnReadDroppedAndCounted() throws IOException {
    DiskTier disk = start();
    fill(disk, 2);
    Path file = disk.fileFor(key(1));
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer one = ByteBuffer.allocate(1);
      long pos = ch.size() - 100;
      ch.read(one, pos);
      one.flip();
      one.put(0, (byte) (one.get(0) ^ 0x5a));
      ch.write(one, pos); // flip bits in the payload
    }
    DiskTier restarted = start(); // damage after the restart's index load is only seen on read
    assertNull(restarted.get(key(1), BLOCK), "never served");
    assertEquals(1, corrupt.getCount());
    assertFalse(Files.exists(file), "dropped");
    assertFalse(restarted.contains(key(1)));
    assertNotNull(restarted.get(key(0), BLOCK), "other blocks unaffected");
    DiskTier again = start();
    assertEquals(1, again.startUpRepair().fromIndex(), "its record went with it");
  }

  @Test
  void aTruncatedBlockIsCaughtOnRead() throws IOException {
    DiskTier disk = start();
    fill(disk, 1);
    Path file = disk.fileFor(key(0));
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.truncate(ch.size() / 2);
    }
    assertNull(disk.get(key(0), BLOCK));
    assertEquals(1, corrupt.getCount());
    assertFalse(Files.exists(file));
  }

  @Test
  void theIndexIsChargedAgainstTheCap() throws IOException {
    DiskTier disk = start();
    long reserve = DiskTier.indexReserveFor(CAP);
    assertEquals(4L << 20, reserve);
    assertEquals(CAP - DiskTier.DIRECTORY_RESERVE - reserve, disk.usableBytes());
    fill(disk, 10);
    long blocks = 10 * DiskTier.charge(BlockFileFormat.headerLength(key(0), BLOCK) + (long) BLOCK);
    assertTrue(disk.charged() >= DiskTier.DIRECTORY_RESERVE + reserve + blocks);
    assertTrue(db.diskBytes() <= reserve, "a small index stays within its reserve: " + db.diskBytes());
    // What the tier reports is what it occupies: the index as measured, not its reserve.
    // (The index is a few files far below its reserve; a background flush may change it meanwhile.)
    assertTrue(disk.bytes() <= disk.charged() - reserve / 2, disk.bytes() + " reported, " + disk.charged() + " charged");
    assertTrue(disk.bytes() >= DiskTier.DIRECTORY_RESERVE + blocks);
  }

  @Test
  void theFreeSpaceFloorRefusesWritesAndEvictsOurOwnBlocksToHoldIt() throws IOException {
    long perBlock = DiskTier.charge(BlockFileFormat.headerLength(key(0), BLOCK) + (long) BLOCK);
    AtomicLong otherUse = new AtomicLong(0);
    long disk = 100 * perBlock;
    long floor = 20 * perBlock;
    // A fake filesystem of 100 blocks: free = size - ours - others.
    DiskTier[] tier = new DiskTier[1];
    java.util.function.LongSupplier free = () -> disk - otherUse.get()
        - (tier[0] == null ? 0 : tier[0].blockCount() * perBlock);
    tier[0] = start(DiskTierScan.DEFAULT_REPAIR_BUDGET_NANOS, free, floor);
    fill(tier[0], 30);
    assertEquals(30, tier[0].blockCount());

    otherUse.set(60 * perBlock); // someone else fills the disk: 10 free, floor 20
    assertTrue(tier[0].insert(key(100), block(key(100), BLOCK)), "evicts our own to make room");
    assertTrue(free.getAsLong() >= floor, "the floor holds: " + free.getAsLong());
    assertFalse(tier[0].contains(key(0)), "least recently used went first");

    otherUse.set(95 * perBlock); // more than the floor taken by others: nothing of ours helps
    int before = (int) rejected.getCount();
    assertFalse(tier[0].insert(key(101), block(key(101), BLOCK)));
    assertEquals(before + 1, rejected.getCount());
    assertEquals(0, tier[0].blockCount(), "all of ours were given back trying");
  }

  /** Counts block-file reads. */
  private static final class CountingIo implements BlockFileIo {
    final AtomicInteger reads = new AtomicInteger();

    @Override
    public FileChannel openRead(Path file) throws IOException {
      reads.incrementAndGet();
      return DEFAULT.openRead(file);
    }

    @Override
    public FileChannel openReadDirect(Path file) throws IOException {
      reads.incrementAndGet();
      return DEFAULT.openReadDirect(file);
    }

    @Override
    public FileChannel createWrite(Path file, boolean direct) throws IOException {
      return DEFAULT.createWrite(file, direct);
    }

    @Override
    public void moveAtomic(Path from, Path to) throws IOException {
      DEFAULT.moveAtomic(from, to);
    }

    @Override
    public boolean delete(Path file) throws IOException {
      return DEFAULT.delete(file);
    }
  }
}
