package io.s3cache.cache;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BiConsumer;
import java.util.stream.Stream;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.InfoLogLevel;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cache's RocksDB database under {@code cache_dir/index}: the disk tier's block index (column
 * family {@code blocks}) and the metadata cache (column family {@code metadata}). This class is
 * the one owner of every RocksDB handle: it opens the database, its options and column families,
 * and closes all of them in {@link #close}. Callers see byte arrays only.
 *
 * <p><b>Durability.</b> Writes go to RocksDB's write-ahead log without fsync: they survive a crash
 * of the process ({@code kill -9}), not necessarily a power loss. Nothing is lost by that beyond
 * warmth: the disk tier repairs its index from the block files' own headers at start-up.
 *
 * <p><b>Size.</b> Tuned to stay small (1 MiB write buffers, WAL rolled at 2 MiB, no
 * preallocation, two info-log files of at most 256 KiB), because its files count against the
 * {@code disk_cache} cap; {@link #diskBytes} measures them.
 *
 * <p><b>Damage.</b> A database that cannot be opened (corrupt, or written by an incompatible
 * release) is deleted and created empty; {@link #isNew} then tells the disk tier to rebuild its
 * index from the block files.
 *
 * <p>Thread-safe. Every call after {@link #close} fails with an IOException instead of touching
 * freed native memory.
 */
public final class CacheDatabase implements AutoCloseable {
  /** Bumped when the layout of a stored record changes incompatibly. */
  static final byte[] FORMAT = {'s', '3', 'c', 'a', 'c', 'h', 'e', '-', '1'};
  private static final byte[] FORMAT_KEY = "format".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  private static final Logger log = LoggerFactory.getLogger(CacheDatabase.class);

  static {
    RocksDB.loadLibrary();
  }

  private final Path dir;
  private final boolean isNew;
  private final DBOptions dbOptions;
  private final ColumnFamilyOptions cfOptions;
  private final WriteOptions writeOptions;
  private final List<ColumnFamilyHandle> handles;
  private final RocksDB db;
  private final ColumnFamilyHandle blocks;
  private final ColumnFamilyHandle metadata;
  private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
  private boolean closed;

  private CacheDatabase(Path dir, boolean isNew, DBOptions dbOptions, ColumnFamilyOptions cfOptions,
      List<ColumnFamilyHandle> handles, RocksDB db) {
    this.dir = dir;
    this.isNew = isNew;
    this.dbOptions = dbOptions;
    this.cfOptions = cfOptions;
    this.writeOptions = new WriteOptions().setSync(false);
    this.handles = handles;
    this.db = db;
    this.blocks = handles.get(1);
    this.metadata = handles.get(2);
  }

  /**
   * Opens the database in {@code dir}, creating it if absent; an unreadable or foreign one is
   * deleted and replaced by an empty one (logged).
   *
   * @throws IOException if the directory cannot be created or an empty database cannot be made
   */
  public static CacheDatabase open(Path dir) throws IOException {
    boolean existed = Files.exists(dir.resolve("CURRENT"));
    if (existed) {
      try {
        CacheDatabase db = openOrCreate(dir, false);
        if (db.hasCurrentFormat()) {
          return db;
        }
        db.close();
        log.warn("cache index {} was written by an incompatible release; rebuilding it", dir);
      } catch (IOException e) {
        log.warn("cache index {} cannot be opened ({}); rebuilding it from the block files", dir,
            e.getMessage());
      }
      deleteTree(dir);
    }
    CacheDatabase db = openOrCreate(dir, true);
    db.put(null, FORMAT_KEY, FORMAT);
    return db;
  }

  private static CacheDatabase openOrCreate(Path dir, boolean isNew) throws IOException {
    Files.createDirectories(dir);
    DBOptions dbOptions = new DBOptions()
        .setCreateIfMissing(true)
        .setCreateMissingColumnFamilies(true)
        .setAllowFAllocate(false)
        .setMaxTotalWalSize(2L << 20)
        .setKeepLogFileNum(2)
        .setMaxLogFileSize(256 << 10)
        .setInfoLogLevel(InfoLogLevel.WARN_LEVEL)
        .setMaxBackgroundJobs(1)
        .setMaxOpenFiles(64);
    ColumnFamilyOptions cfOptions = new ColumnFamilyOptions()
        .setWriteBufferSize(1L << 20)
        .setMaxWriteBufferNumber(2)
        .setCompressionType(CompressionType.LZ4_COMPRESSION)
        .setTargetFileSizeBase(4L << 20)
        .setMaxBytesForLevelBase(16L << 20);
    List<ColumnFamilyDescriptor> descriptors = List.of(
        new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, cfOptions),
        new ColumnFamilyDescriptor(bytes("blocks"), cfOptions),
        new ColumnFamilyDescriptor(bytes("metadata"), cfOptions));
    List<ColumnFamilyHandle> handles = new ArrayList<>();
    try {
      RocksDB db = RocksDB.open(dbOptions, dir.toString(), descriptors, handles);
      return new CacheDatabase(dir, isNew, dbOptions, cfOptions, handles, db);
    } catch (RocksDBException e) {
      handles.forEach(ColumnFamilyHandle::close);
      cfOptions.close();
      dbOptions.close();
      throw new IOException("cannot open RocksDB in " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Whether the database was created empty by this open (none existed, or it was unusable). */
  public boolean isNew() {
    return isNew;
  }

  public Path directory() {
    return dir;
  }

  // ---- block index (the disk tier) ----

  void putBlock(byte[] id, byte[] record) throws IOException {
    put(blocks, id, record);
  }

  void deleteBlock(byte[] id) throws IOException {
    delete(blocks, id);
  }

  /** Every block record, in key order. */
  void forEachBlock(BiConsumer<byte[], byte[]> sink) throws IOException {
    forEach(blocks, null, sink);
  }

  // ---- metadata cache ----

  /** The metadata record stored under {@code key}, or null. */
  public byte[] getMetadata(byte[] key) throws IOException {
    lifecycle.readLock().lock();
    try {
      checkOpen();
      return db.get(metadata, key);
    } catch (RocksDBException e) {
      throw new IOException("cache index read failed: " + e.getMessage(), e);
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  public void putMetadata(byte[] key, byte[] record) throws IOException {
    put(metadata, key, record);
  }

  public void deleteMetadata(byte[] key) throws IOException {
    delete(metadata, key);
  }

  /** Every metadata record whose key starts with {@code prefix}. */
  public void forEachMetadata(byte[] prefix, BiConsumer<byte[], byte[]> sink) throws IOException {
    forEach(metadata, prefix, sink);
  }

  /**
   * Bytes the database's files take on disk (each rounded up to 4 KiB, as the disk tier charges
   * block files), for the {@code disk_cache} cap.
   */
  public long diskBytes() {
    try (Stream<Path> files = Files.list(dir)) {
      return files.mapToLong(f -> {
        try {
          return DiskTier.charge(Files.size(f));
        } catch (IOException e) {
          return 0; // deleted by a compaction while we listed
        }
      }).sum() + DiskTier.FS_BLOCK;
    } catch (IOException e) {
      return DiskTier.FS_BLOCK;
    }
  }

  /** Closes every handle; idempotent. Later calls fail with an IOException. */
  @Override
  public void close() {
    lifecycle.writeLock().lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      try {
        db.syncWal();
      } catch (RocksDBException e) {
        log.warn("cache index: syncing the write-ahead log at close failed: {}", e.getMessage());
      }
      handles.forEach(ColumnFamilyHandle::close);
      db.close();
      writeOptions.close();
      cfOptions.close();
      dbOptions.close();
    } finally {
      lifecycle.writeLock().unlock();
    }
  }

  private boolean hasCurrentFormat() throws IOException {
    lifecycle.readLock().lock();
    try {
      return Arrays.equals(FORMAT, db.get(FORMAT_KEY));
    } catch (RocksDBException e) {
      throw new IOException(e.getMessage(), e);
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  private void put(ColumnFamilyHandle cf, byte[] key, byte[] value) throws IOException {
    lifecycle.readLock().lock();
    try {
      checkOpen();
      if (cf == null) {
        db.put(writeOptions, key, value);
      } else {
        db.put(cf, writeOptions, key, value);
      }
    } catch (RocksDBException e) {
      throw new IOException("cache index write failed: " + e.getMessage(), e);
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  private void delete(ColumnFamilyHandle cf, byte[] key) throws IOException {
    lifecycle.readLock().lock();
    try {
      checkOpen();
      db.delete(cf, writeOptions, key);
    } catch (RocksDBException e) {
      throw new IOException("cache index delete failed: " + e.getMessage(), e);
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  private void forEach(ColumnFamilyHandle cf, byte[] prefix, BiConsumer<byte[], byte[]> sink)
      throws IOException {
    lifecycle.readLock().lock();
    try {
      checkOpen();
      iterate(cf, prefix, sink);
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  private void iterate(ColumnFamilyHandle cf, byte[] prefix, BiConsumer<byte[], byte[]> sink)
      throws IOException {
    try (RocksIterator it = db.newIterator(cf)) {
      if (prefix == null) {
        it.seekToFirst();
      } else {
        it.seek(prefix);
      }
      for (; it.isValid(); it.next()) {
        byte[] key = it.key();
        if (prefix != null && !startsWith(key, prefix)) {
          break;
        }
        sink.accept(key, it.value());
      }
      it.status();
    } catch (RocksDBException e) {
      throw new IOException("cache index scan failed: " + e.getMessage(), e);
    }
  }

  private void checkOpen() throws IOException {
    if (closed) {
      throw new IOException("cache index is closed");
    }
  }

  private static boolean startsWith(byte[] key, byte[] prefix) {
    return key.length >= prefix.length
        && Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
