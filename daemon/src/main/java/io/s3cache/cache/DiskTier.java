package io.s3cache.cache;

import static io.s3cache.cache.BlockFileFormat.BLOCK_SUFFIX;
import static io.s3cache.cache.BlockFileFormat.TEMP_SUFFIX;

import com.codahale.metrics.Counter;
import io.s3cache.cache.BlockFileFormat.CorruptBlockFileException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The disk tier: one file per block under {@code cacheDir/blocks/xx/<sha256>.blk} (layout in
 * {@link BlockFileFormat}, read and written by {@link BlockFiles}), an in-memory index of them,
 * and a hard cap on the space they occupy. A {@link CacheTier}: its look-up hands back a handle
 * whose read then reads and checks just the chunks of the range asked for, through a small cache
 * of open files ({@link BlockChannels}), so a block evicted in between is a miss.
 *
 * <p><b>Space accounting.</b> {@code used} is what the tree occupies as {@code du} counts it:
 * {@link #DIRECTORY_RESERVE} for {@code blocks/} and its 256 subdirectories, plus per file
 * {@link #charge} = its size rounded up to 4 KiB plus {@link #DIRENT_CHARGE} for the directory
 * entry (so subdirectories that grow past their first 4 KiB stay covered). Space is reserved
 * <em>before</em> a file is created and released only after the file is deleted, so {@code used}
 * never reads lower than the real usage and the cap holds with any number of writers.
 *
 * <p><b>Concurrency.</b> {@code index} (key → committed file) is a ConcurrentHashMap read without
 * locks. {@code busy} marks keys a thread currently writes or discards: a key has at most one
 * writer, and a file is deleted only by the thread holding its key in {@code busy} after checking
 * the index still maps the key to that very file, so a stale delete never hits a newer file.
 * Reservations (check-and-add on {@code used}) and eviction run under {@code admission}; releases
 * only lower {@code used} and need no lock. Readers never lock: a file evicted under a reader is
 * either still readable (Linux keeps an unlinked open file) or gone at open, which is a miss. A
 * discard drops the key from the index <em>before</em> it closes the key's cached open file, and a
 * reader that cached a file re-checks the index after, so no dropped file stays open.
 *
 * <p><b>Failures.</b> Nothing here throws to a reader or writer after start-up: a bad file, a
 * failed read or write is a miss or a skipped write, logged (rate-limited), counted in
 * {@code errors}, and the file is deleted.
 *
 * <p><b>Block size.</b> A block's index names a byte range only together with the block size,
 * so the block size is part of each file's identity (name hash and header). Files written under
 * another block size are deleted at start-up and never served.
 *
 * <p><b>Persistent index.</b> With a {@link CacheDatabase}, every committed file also has a record
 * in its {@code blocks} column family (identity, block size, length, CRC32C, file length, last
 * access), written after the rename and deleted before the file; a read records its access when
 * it opens the file (not on every range read of an open file). A restart loads the records
 * instead of reading every header, then repairs what a crash can leave (see {@link
 * DiskTierScan#reconcile}): files without a record, records without a file, temp files. The
 * index's own files are charged against the cap ({@link #indexReserve}, re-measured as it grows).
 * Without a database (tests, or a tier opened bare) every header is read at start-up instead.
 *
 * <p><b>Free-space floor.</b> A write is admitted only if the filesystem keeps at least {@code
 * minFree} bytes free afterwards; the tier evicts its own blocks to restore the floor when others
 * fill the disk, and otherwise refuses the write (the block stays served from RAM or S3).
 *
 * <p>Recency is a logical clock ticked on every hit and write; eviction sorts a snapshot of the
 * index by it (approximate LRU) and frees a little more than asked so sorting stays rare.
 */
final class DiskTier implements CacheTier {
  static final int FS_BLOCK = 4096;
  static final int SUBDIRS = 256;
  /**
   * {@code du} charge of the cache directory itself (which also holds an empty lock file),
   * {@code blocks/} and its 256 subdirectories, so the whole cache directory stays under the cap.
   */
  static final long DIRECTORY_RESERVE = (SUBDIRS + 2L) * FS_BLOCK;
  /**
   * Charge per file for its directory entry: ext4 takes 8 bytes plus the name rounded to 4 (about
   * 76 bytes for our names, a little more for temp names), and hashed directories keep blocks
   * partly empty; 256 bytes covers both with room.
   */
  static final int DIRENT_CHARGE = 256;

  private static final Logger log = LoggerFactory.getLogger(DiskTier.class);
  private static final long WARN_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);

  /** Re-measure the index's files after this many admitted writes. */
  private static final int INDEX_MEASURE_EVERY = 64;

  /**
   * Block files up to this long (small objects, short last blocks) are hinted to the kernel whole
   * when opened, so header and payload come from the device in one request.
   */
  static final long WHOLE_FILE_HINT = 1L << 20;

  /** A committed block file. */
  static final class Entry {
    final Path file;
    final int length;
    final int crc;
    final long fileLength;
    final long charge;
    volatile long lastAccess;
    /** The {@code lastAccess} the index database's record holds; written under its key. */
    volatile long persistedAccess = -1;

    Entry(Path file, int length, int crc, long fileLength, long lastAccess) {
      this.file = file;
      this.length = length;
      this.crc = crc;
      this.fileLength = fileLength;
      this.charge = charge(fileLength);
      this.lastAccess = lastAccess;
    }
  }

  private final Path root;
  private final int blockSize;
  private final long cap;
  private final BlockFileIo io;
  private final BlockFiles files;
  private final Counter errors;
  private final Counter rejected;
  private final Counter corrupt;
  private final CacheDatabase db; // null: no persistent index
  private final long indexReserve;
  private final long minFree;
  private final java.util.function.LongSupplier freeSpace; // bytes free for us; may throw UncheckedIOException
  private volatile long indexExtra; // measured index bytes beyond indexReserve; written under admission
  /** Bytes admitted but maybe not on disk yet: free space does not show them, the floor must. */
  private final AtomicLong writing = new AtomicLong();
  private int writesSinceMeasure; // under admission
  private final DiskTierScan.Result startUpScan;
  private final DiskTierScan.Repair startUpRepair;
  private final ConcurrentHashMap<BlockKey, Entry> index = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<BlockKey, Boolean> busy = new ConcurrentHashMap<>();
  private final ReentrantLock admission = new ReentrantLock();
  private final BlockChannels channels = new BlockChannels(BlockChannels.DEFAULT_MAX_OPEN);
  private final AtomicLong used = new AtomicLong(DIRECTORY_RESERVE);
  private final AtomicLong clock = new AtomicLong();
  private final AtomicLong tempSeq = new AtomicLong();
  private final AtomicLong lastWarn = new AtomicLong(System.nanoTime() - WARN_INTERVAL_NANOS);
  private final AtomicLong suppressedWarnings = new AtomicLong();
  private final AtomicLong recordWrites = new AtomicLong();
  /** Where access records are written; null: on the thread that opens the file. */
  private volatile Executor accessRecords;
  private final ConcurrentHashMap<BlockKey, Entry> pendingRecords = new ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.AtomicBoolean recordsScheduled =
      new java.util.concurrent.atomic.AtomicBoolean();

  /**
   * Opens (creating if needed) the tier under {@code cacheDir/blocks}, deleting temp files left by
   * a crash and indexing the block files already there (header check only; payload checksums are
   * checked on each read). Files cut with another block size than {@code blockSize} (an earlier
   * run's {@code block_size}) or of another format version are deleted. Evicts down to the cap if
   * the cap shrank since the last run.
   *
   * @param blockSize the cache's block size: every block of an object but its last has this many
   *     bytes, and block {@code i} starts at {@code i * blockSize}
   * @throws IOException if the directory tree cannot be created or listed
   */
  DiskTier(Path cacheDir, int blockSize, long capBytes, boolean fsync, BlockFileIo io,
      Counter errors, Counter rejected) throws IOException {
    this(cacheDir, blockSize, capBytes, fsync, io, errors, rejected, new Counter(), null, 0,
        DiskTierScan.DEFAULT_REPAIR_BUDGET_NANOS, null);
  }

  /**
   * @param db the persistent block index, or null to index by reading every header at start-up
   * @param minFree free-space floor on the filesystem (0: none)
   * @param repairBudgetNanos time the start-up repair may spend reading headers of files the
   *     index does not know; files beyond it are deleted unread
   * @param freeSpace the free bytes of the cache's filesystem, or null to ask the filesystem
   *     (tests inject a fake disk)
   */
  DiskTier(Path cacheDir, int blockSize, long capBytes, boolean fsync, BlockFileIo io,
      Counter errors, Counter rejected, Counter corrupt, CacheDatabase db, long minFree,
      long repairBudgetNanos, java.util.function.LongSupplier freeSpace) throws IOException {
    if (blockSize <= 0) {
      throw new IllegalArgumentException("blockSize must be positive, got " + blockSize);
    }
    this.root = cacheDir.resolve("blocks");
    this.blockSize = blockSize;
    this.cap = capBytes;
    this.io = io;
    for (int i = 0; i < SUBDIRS; i++) {
      Files.createDirectories(root.resolve(subdirName(i)));
    }
    this.files = new BlockFiles(io, blockSize, fsync, directWritesPossible(root));
    this.errors = errors;
    this.rejected = rejected;
    this.corrupt = corrupt;
    this.db = db;
    this.minFree = minFree;
    this.indexReserve = db == null ? 0 : indexReserveFor(capBytes);
    used.addAndGet(indexReserve);
    if (freeSpace == null) {
      FileStore store = Files.getFileStore(root);
      freeSpace = () -> {
        try {
          return store.getUsableSpace();
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      };
    }
    this.freeSpace = freeSpace;
    DiskTierScan scan = new DiskTierScan(root, blockSize, io, (what, cause) -> {
      errors.inc();
      warn(what, cause);
    });
    if (db == null || db.isNew()) {
      startUpScan = scan.run(this::adopt);
      startUpRepair = null;
    } else {
      startUpScan = null;
      startUpRepair = scan.reconcile(loadRecords(), repairBudgetNanos, this::adopt,
          new DiskTierScan.IndexEditor() {
            @Override
            public void delete(String hash) throws IOException {
              db.deleteBlock(HexFormat.of().parseHex(hash));
            }
          });
    }
    if (db != null) {
      admission.lock();
      try {
        remeasureIndex();
      } finally {
        admission.unlock();
      }
    }
    if (used.get() > cap) {
      admission.lock();
      try {
        evictDownTo(cap);
      } finally {
        admission.unlock();
      }
    }
  }

  /**
   * Whether block files under {@code dir} can be written with O_DIRECT from buffers aligned to
   * {@link BlockFileFormat#ALIGNMENT}: the filesystem's block size must divide it. (Whether the
   * filesystem allows O_DIRECT at all shows at the first write, see {@link BlockFiles#write}.)
   */
  static boolean directWritesPossible(Path dir) {
    try {
      long fsBlock = Files.getFileStore(dir).getBlockSize();
      return fsBlock > 0 && BlockFileFormat.ALIGNMENT % fsBlock == 0;
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    }
  }

  /** Whether block files are written with O_DIRECT now (for tests). */
  boolean directWrites() {
    return files.direct();
  }

  /**
   * Space set aside for the index database: 1/32 of the cap, between 4 MiB and 256 MiB, but
   * never more than a quarter of the cap.
   */
  static long indexReserveFor(long cap) {
    long reserve = Math.max(4L << 20, Math.min(256L << 20, cap / 32));
    return Math.min(reserve, cap / 4) / FS_BLOCK * FS_BLOCK;
  }

  private java.util.Map<String, DiskTierScan.Stored> loadRecords() throws IOException {
    java.util.Map<String, DiskTierScan.Stored> records = new java.util.HashMap<>();
    HexFormat hex = HexFormat.of();
    db.forEachBlock((id, value) -> {
      DiskTierScan.Stored stored = BlockRecord.decode(value);
      records.put(hex.formatHex(id), stored);
    });
    return records;
  }

  static String subdirName(int i) {
    return String.format("%02x", i);
  }

  /** Bytes a file of {@code fileLength} bytes is charged against the cap. */
  static long charge(long fileLength) {
    return (fileLength + FS_BLOCK - 1) / FS_BLOCK * FS_BLOCK + DIRENT_CHARGE;
  }

  Path fileFor(BlockKey key) {
    String hash = BlockFileFormat.hash(key, blockSize);
    return root.resolve(hash.substring(0, 2)).resolve(hash + BLOCK_SUFFIX);
  }

  @Override
  public boolean contains(BlockKey key) {
    return index.containsKey(key);
  }

  /**
   * Read-ahead over disk hits: asks the kernel to start reading the block's file into its page
   * cache, without waiting. Whether the tier holds the block (a hint either way).
   */
  boolean willRead(BlockKey key) {
    Entry entry = index.get(key);
    if (entry == null) {
      return false;
    }
    PageCacheHint.willNeed(entry.file, 0, entry.fileLength);
    return true;
  }

  /**
   * Bytes the tier occupies on disk now: its directories, block files (rounded to 4 KiB, plus
   * their entries), writes in progress and the index database as measured. Not {@link #charged}:
   * admission charges the index its whole reserve up front, which would over-report a small index
   * by up to 256 MiB.
   */
  @Override
  public long bytes() {
    long index = db == null ? 0 : db.diskBytes();
    return used.get() - indexReserve - indexExtra + index;
  }

  /** Bytes charged against the cap now: {@link #bytes} with the index's reserve in place of its size. */
  long charged() {
    return used.get();
  }

  long capBytes() {
    return cap;
  }

  int blockSize() {
    return blockSize;
  }

  /** What the start-up scan indexed and deleted. */
  DiskTierScan.Result startUpScan() {
    return startUpScan;
  }

  /** What the start-up repair against the persistent index did; null if it scanned instead. */
  DiskTierScan.Repair startUpRepair() {
    return startUpRepair;
  }

  @Override
  public long blockCount() {
    return index.size();
  }

  /**
   * A handle whose reads read and check just the chunks they need then (see {@link #read}); null
   * if not indexed.
   */
  @Override
  public Block lookup(BlockKey key, int length) {
    if (!index.containsKey(key)) {
      return null;
    }
    return new Block() {
      @Override
      public int length() {
        return length;
      }

      @Override
      public ByteBuffer readAll() {
        return get(key, length);
      }

      @Override
      public boolean read(int offsetInBlock, ByteBuffer dst) {
        if (offsetInBlock < 0 || offsetInBlock > length - dst.remaining()) {
          throw new IndexOutOfBoundsException("range [" + offsetInBlock + ", +" + dst.remaining()
              + ") outside a block of " + length + " bytes");
        }
        return DiskTier.this.read(key, length, offsetInBlock, dst);
      }
    };
  }

  /**
   * The block in a new direct buffer (position 0, limit {@code length}), every chunk checked, or
   * null on a miss (see {@link #read}).
   */
  ByteBuffer get(BlockKey key, int length) {
    if (!index.containsKey(key)) {
      return null;
    }
    ByteBuffer block = ByteBuffer.allocateDirect(length);
    return read(key, length, 0, block) ? block.flip() : null;
  }

  /**
   * Copies {@code [offset, offset + dst.remaining())} of the block into {@code dst} by positional
   * reads of the chunks it touches, each checked against its CRC32C, through a cached open file.
   * False on a miss, with {@code dst}'s position unchanged (bytes past it may be overwritten). A
   * file that fails any check is deleted, counted and logged; never throws. A file evicted under
   * the read is either still read whole (it was open) or gone at open, a miss.
   */
  boolean read(BlockKey key, int length, int offset, ByteBuffer dst) {
    return read(key, length, offset, dst, false);
  }

  /**
   * The whole block into {@code dst} as {@link #read} would copy it, but in one read that skips
   * the page cache where it can ({@link BlockFiles#readWhole}): read-ahead of a block into memory
   * (see {@link TieredBlockCache}). False on a miss, as {@link #read}.
   */
  boolean readWhole(BlockKey key, int length, ByteBuffer dst) {
    return read(key, length, 0, dst, true);
  }

  private boolean read(BlockKey key, int length, int offset, ByteBuffer dst, boolean whole) {
    Entry entry = index.get(key);
    if (entry == null) {
      return false;
    }
    try {
      for (int attempt = 0; ; attempt++) {
        BlockChannels.Handle file = channels.acquire(key, entry, this::open);
        try {
          if (index.get(key) != entry) {
            channels.remove(key, file); // dropped while we opened it: do not keep it open
          }
          if (file.header.payloadLength() != length) {
            throw new CorruptBlockFileException(
                "payload length " + file.header.payloadLength() + ", expected " + length);
          }
          if (whole) {
            files.readWhole(entry.file, file.channel, file.header, dst);
          } else {
            BlockFiles.readRange(file.channel, file.header, offset, dst);
          }
          entry.lastAccess = clock.incrementAndGet();
          return true;
        } catch (java.nio.channels.ClosedChannelException closed) {
          // Closed under us (an interrupted reader closes a shared channel): reopen once.
          channels.remove(key, file);
          if (attempt > 0 || Thread.currentThread().isInterrupted()) {
            return false;
          }
        } finally {
          file.release();
        }
      }
    } catch (NoSuchFileException gone) {
      // Evicted (or removed by hand) between the index lookup and the open: a plain miss.
      discard(key, entry);
      return false;
    } catch (IOException | RuntimeException e) {
      errors.inc();
      if (e instanceof CorruptBlockFileException) {
        corrupt.inc();
      }
      warn("read of " + entry.file + " failed", e);
      discard(key, entry);
      return false;
    }
  }

  /**
   * Opens and checks an entry's file; records its last access in the index (once per open, and
   * only if it was read since its record was written: not for the first open after its write).
   */
  private BlockChannels.Handle open(BlockKey key, Entry entry) throws IOException {
    if (entry.fileLength <= WHOLE_FILE_HINT) {
      PageCacheHint.willNeed(entry.file, 0, entry.fileLength);
    }
    java.nio.channels.FileChannel ch = io.openRead(entry.file);
    try {
      BlockChannels.Handle handle =
          new BlockChannels.Handle(entry, ch, files.checkHeader(ch, key, entry.length, entry.crc));
      if (entry.lastAccess != entry.persistedAccess) {
        recordAccess(key, entry);
      }
      return handle;
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  /**
   * Writes the block's remaining bytes (the buffer itself is not moved) if it is not on disk yet
   * and room can be made under the cap. Never throws.
   *
   * @return whether the block is now on disk because of this call
   */
  @Override
  public boolean insert(BlockKey key, ByteBuffer block) {
    if (index.containsKey(key) || busy.putIfAbsent(key, Boolean.TRUE) != null) {
      return false;
    }
    try {
      if (index.containsKey(key)) {
        return false;
      }
      int length = block.remaining();
      long charge;
      try {
        if (length > blockSize) {
          throw new IllegalArgumentException(
              length + " bytes is more than the block size " + blockSize);
        }
        charge = charge(BlockFileFormat.headerLength(key, length) + (long) length);
      } catch (IllegalArgumentException e) {
        errors.inc();
        warn("cannot store " + key, e);
        return false;
      }
      if (!reserve(charge)) {
        rejected.inc();
        log.debug("disk tier: no room for {} ({} bytes) under the cap of {}", key, charge, cap);
        return false;
      }
      try {
        return writeReserved(key, block.duplicate(), charge);
      } finally {
        writing.addAndGet(-charge); // on disk (counted by the filesystem now) or deleted
      }
    } finally {
      busy.remove(key);
    }
  }

  private boolean writeReserved(BlockKey key, ByteBuffer payload, long charge) {
    Path file = fileFor(key);
    Path temp = file.resolveSibling(
        file.getFileName().toString().replace(BLOCK_SUFFIX, "." + tempSeq.incrementAndGet())
            + TEMP_SUFFIX);
    boolean committed = false;
    try {
      BlockFiles.Written written = files.write(temp, file, key, payload);
      Entry entry = new Entry(file, written.length(), written.crc(), written.fileLength(),
          clock.incrementAndGet());
      index.put(key, entry);
      committed = true;
      persist(key, entry);
      return true;
    } catch (IOException | RuntimeException e) {
      errors.inc();
      warn("write of " + file + " failed", e);
      return false;
    } finally {
      if (!committed) {
        // Release the reservation only once neither name can hold bytes any more.
        if (deleteQuietly(temp) && deleteQuietly(file)) {
          used.addAndGet(-charge);
        }
      }
    }
  }

  /** Reserves {@code charge} bytes, evicting least-recently-used files if needed. */
  private boolean reserve(long charge) {
    if (charge > cap - DIRECTORY_RESERVE) {
      return false; // could never fit: do not empty the cache trying
    }
    admission.lock();
    try {
      if (db != null && ++writesSinceMeasure >= INDEX_MEASURE_EVERY) {
        remeasureIndex();
      }
      long fixed = DIRECTORY_RESERVE + indexReserve;
      if (used.get() + charge > cap) {
        // Free a little extra (1/64 of the cap) so the sort below runs rarely.
        evictDownTo(Math.max(fixed, cap - charge - (cap - fixed) / 64));
      }
      if (used.get() + charge > cap) {
        return false;
      }
      if (minFree > 0) {
        long shortBy = minFree + charge + writing.get() - usableSpace();
        if (shortBy > 0) {
          evictDownTo(used.get() - shortBy - (cap - fixed) / 64);
          if (minFree + charge + writing.get() > usableSpace()) {
            return false;
          }
        }
      }
      used.addAndGet(charge);
      writing.addAndGet(charge);
      return true;
    } finally {
      admission.unlock();
    }
  }

  /** Evicts until {@code bytes} (plus the floor) are free on the filesystem, or the tier is empty. */
  void makeRoom(long bytes) {
    admission.lock();
    try {
      long shortBy = minFree + bytes - usableSpace();
      if (shortBy > 0) {
        evictDownTo(Math.max(0, used.get() - shortBy));
      }
    } finally {
      admission.unlock();
    }
  }

  /** Free bytes for us on the cache's filesystem; on failure, as if full (refuse, never crash). */
  private long usableSpace() {
    try {
      return freeSpace.getAsLong();
    } catch (java.io.UncheckedIOException e) {
      errors.inc();
      warn("cannot read the free space of " + root, e);
      return 0;
    }
  }

  /** Charges what the index database occupies beyond its reserve. Under {@code admission}. */
  private void remeasureIndex() {
    writesSinceMeasure = 0;
    long extra = Math.max(0, db.diskBytes() - indexReserve);
    used.addAndGet(extra - indexExtra);
    indexExtra = extra;
  }

  /** Writes the entry's record to the index; a failure is logged and repaired at next start. */
  private void persist(BlockKey key, Entry entry) {
    if (db == null) {
      return;
    }
    try {
      long access = entry.lastAccess;
      db.putBlock(idOf(entry.file), BlockRecord.encode(key, blockSize, entry, access));
      entry.persistedAccess = access;
      recordWrites.incrementAndGet();
    } catch (IOException | RuntimeException e) {
      errors.inc();
      warn("cannot record " + entry.file + " in the index (repaired at the next start)", e);
    }
  }

  private static byte[] idOf(Path file) {
    String name = file.getFileName().toString();
    return HexFormat.of().parseHex(name, 0, name.length() - BLOCK_SUFFIX.length());
  }

  /** Deletes least-recently-used files until {@code used <= target} or none is left. */
  private void evictDownTo(long target) {
    record Candidate(BlockKey key, Entry entry, long lastAccess) {}
    List<Candidate> candidates = new ArrayList<>(index.size());
    index.forEach((k, e) -> candidates.add(new Candidate(k, e, e.lastAccess)));
    candidates.sort(Comparator.comparingLong(Candidate::lastAccess));
    for (Candidate c : candidates) {
      if (used.get() <= target) {
        return;
      }
      discard(c.key(), c.entry());
    }
  }

  /**
   * Deletes {@code entry}'s file and drops it from the index, if the key still maps to it and no
   * other thread owns the key; releases its charge once the file is gone.
   */
  private void discard(BlockKey key, Entry entry) {
    if (busy.putIfAbsent(key, Boolean.TRUE) != null) {
      return; // a writer or another discard owns the key; it sees the index itself
    }
    try {
      if (index.get(key) != entry) {
        return;
      }
      if (db != null) {
        try {
          db.deleteBlock(idOf(entry.file));
        } catch (IOException | RuntimeException e) {
          // The file goes anyway; the record without a file is dropped at the next start.
          errors.inc();
          warn("cannot drop " + entry.file + " from the index", e);
        }
      }
      boolean deleted = deleteQuietly(entry.file);
      index.remove(key, entry);
      channels.invalidate(key);
      if (deleted) {
        used.addAndGet(-entry.charge);
      }
    } finally {
      busy.remove(key);
    }
  }

  /** Closes the files kept open for reads (a read in progress finishes first). */
  void close() {
    channels.close();
  }

  /**
   * Writes the access records of block-file opens (see {@link #open}) on {@code executor} (the
   * disk writer) from now on, so a reader's open does not wait for a RocksDB write; by default
   * they are written on the opening thread.
   */
  void recordAccessesOn(Executor executor) {
    this.accessRecords = executor;
  }

  /**
   * The entry's access record, written now or queued for {@link #accessRecords}; a record queued
   * twice is written once. A record lost to a refused task or a crash only leaves an older
   * access order in the index (eviction order is approximate anyway).
   */
  private void recordAccess(BlockKey key, Entry entry) {
    Executor executor = accessRecords;
    if (executor == null || db == null) {
      persist(key, entry);
      return;
    }
    pendingRecords.put(key, entry);
    if (recordsScheduled.compareAndSet(false, true)) {
      try {
        executor.execute(this::writeAccessRecords);
      } catch (RejectedExecutionException closing) {
        recordsScheduled.set(false);
      }
    }
  }

  /** Writes the queued access records, each under its key's ownership and only if still indexed. */
  private void writeAccessRecords() {
    recordsScheduled.set(false); // a record queued from here on schedules another run
    for (BlockKey key : pendingRecords.keySet()) {
      Entry entry = pendingRecords.remove(key);
      if (entry == null || busy.putIfAbsent(key, Boolean.TRUE) != null) {
        continue; // a writer or a discard owns it: it records (or drops) the block itself
      }
      try {
        if (index.get(key) == entry && entry.lastAccess != entry.persistedAccess) {
          persist(key, entry);
        }
      } finally {
        busy.remove(key);
      }
    }
  }

  /** Block records written to the index database so far (for tests). */
  long recordWrites() {
    return recordWrites.get();
  }

  /** Block files held open for reads now. */
  long openFiles() {
    return channels.size();
  }

  /** Whether a write or discard of the block is in progress right now. */
  boolean isBusy(BlockKey key) {
    return busy.containsKey(key);
  }

  /** Drops one block (evict on request); true if it was on disk. */
  @Override
  public boolean invalidate(BlockKey key) {
    Entry entry = index.get(key);
    if (entry == null) {
      return false;
    }
    discard(key, entry);
    return !index.containsKey(key);
  }

  /** Bytes the tier may hold for blocks: the cap less the directories' and the index's charge. */
  long usableBytes() {
    return cap - DIRECTORY_RESERVE - indexReserve;
  }

  /**
   * Indexes a file found at start-up (single-threaded, before the tier is shared), oldest first;
   * records it in the database unless it came from there.
   */
  private void adopt(BlockKey key, Path file, int length, int crc, long fileLength,
      boolean fromIndex) {
    Entry entry = new Entry(file, length, crc, fileLength, clock.incrementAndGet());
    index.put(key, entry);
    used.addAndGet(entry.charge);
    if (fromIndex) {
      entry.persistedAccess = entry.lastAccess; // the record's order is this clock's order
    } else {
      persist(key, entry);
    }
  }

  /** Deletes a file if present; false (counted, logged) only if it may still exist. */
  private boolean deleteQuietly(Path file) {
    try {
      io.delete(file);
      return true;
    } catch (IOException e) {
      errors.inc();
      warn("could not delete " + file + "; its space stays charged until restart", e);
      return false;
    }
  }

  /** WARN at most once a second; the rest go to DEBUG and are counted in the next WARN. */
  void warn(String what, Throwable cause) {
    long now = System.nanoTime();
    long last = lastWarn.get();
    if (now - last >= WARN_INTERVAL_NANOS && lastWarn.compareAndSet(last, now)) {
      long suppressed = suppressedWarnings.getAndSet(0);
      log.warn("disk tier: {}: {}; treated as a miss{}", what, cause.toString(),
          suppressed == 0 ? "" : " (" + suppressed + " similar warnings suppressed)");
    } else {
      suppressedWarnings.incrementAndGet();
      log.debug("disk tier: {}", what, cause);
    }
  }
}
