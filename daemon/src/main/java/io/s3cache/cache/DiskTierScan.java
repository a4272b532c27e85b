package io.s3cache.cache;

import static io.s3cache.cache.BlockFileFormat.BLOCK_SUFFIX;
import static io.s3cache.cache.BlockFileFormat.TEMP_SUFFIX;

import io.s3cache.cache.BlockFileFormat.CorruptBlockFileException;
import io.s3cache.cache.BlockFileFormat.Header;
import io.s3cache.cache.BlockFileFormat.OtherVersionException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The start-up pass over an existing disk tier, so a restart is warm: deletes temp files a crash
 * left, checks each block file's header (magic, version, header checksum, identity matching the
 * file's name and place, block size matching the configured one, size matching the header) and
 * hands the good ones to the tier oldest first (by modification time, the best recency a fresh
 * process has). Bad or unknown files are deleted, counted as errors and logged. Files of another
 * format version (written before an upgrade) or of another block size (written under an earlier
 * {@code block_size}) are expected after a restart, not errors: they are deleted and their
 * number logged. Reads only headers, so its cost is one small read per file; payload checksums
 * are checked on every read instead. Runs once, single-threaded, before the tier is shared.
 */
final class DiskTierScan {

  /** Receives one good block file. */
  interface Sink {
    /** @param fromIndex whether the index database already holds its record */
    void adopt(BlockKey key, Path file, int payloadLength, int payloadCrc, long fileLength,
        boolean fromIndex);
  }

  /** Changes the repair makes to the index database. */
  interface IndexEditor {
    /** Drops the record of the file named {@code hash}. */
    void delete(String hash) throws IOException;
  }

  /** A block's record as the index database holds it. */
  record Stored(BlockKey key, int blockSize, int payloadLength, int payloadCrc, long fileLength,
      long lastAccess) {}

  /** Time the start-up repair may spend reading headers of files the index does not know. */
  static final long DEFAULT_REPAIR_BUDGET_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(10);

  /**
   * What a start-up repair against the index database did.
   *
   * @param fromIndex files indexed from their records (no file read)
   * @param orphansAdopted files without a record whose header checked out: indexed and recorded
   * @param orphansDeleted files without a record that were bad, of another block size or
   *     version, or beyond the time budget: deleted
   * @param recordsWithoutFile records whose file is gone (or of another block size): dropped
   * @param temps temp files, deleted
   * @param budgetExhausted whether the time budget ran out (some orphans deleted unread)
   * @param millis how long the repair took
   */
  record Repair(int fromIndex, int orphansAdopted, int orphansDeleted, int recordsWithoutFile,
      int temps, boolean budgetExhausted, long millis) {}

  private static final Logger log = LoggerFactory.getLogger(DiskTierScan.class);

  /**
   * What a scan did.
   *
   * @param indexed block files handed to the sink
   * @param otherBlockSize block files of another block size, deleted
   * @param otherVersion block files of another format version, deleted
   * @param bad unreadable or inconsistent files, deleted (each also reported as a bad file)
   * @param temps temp files, deleted
   */
  record Result(int indexed, int otherBlockSize, int otherVersion, int bad, int temps) {}

  private record Found(BlockKey key, Path file, int length, int crc, long fileLength, long mtime) {}

  /** Why a file was not indexed (it has been deleted). */
  private enum Rejection { OTHER_BLOCK_SIZE, OTHER_VERSION, BAD }

  private final Path root;
  private final int blockSize;
  private final BlockFileIo io;
  private final BiConsumer<String, Throwable> onBadFile;

  /**
   * @param blockSize the configured block size; files cut with another one are deleted
   * @param onBadFile told of each bad file (not of files of another block size or version)
   */
  DiskTierScan(Path root, int blockSize, BlockFileIo io,
      BiConsumer<String, Throwable> onBadFile) {
    this.root = root;
    this.blockSize = blockSize;
    this.io = io;
    this.onBadFile = onBadFile;
  }

  Result run(Sink sink) throws IOException {
    long start = System.nanoTime();
    List<Found> found = new ArrayList<>();
    int temps = 0;
    int bad = 0;
    int otherBlockSize = 0;
    int otherVersion = 0;
    for (int i = 0; i < DiskTier.SUBDIRS; i++) {
      String subdir = DiskTier.subdirName(i);
      try (DirectoryStream<Path> files = Files.newDirectoryStream(root.resolve(subdir))) {
        for (Path file : files) {
          String name = file.getFileName().toString();
          if (name.endsWith(TEMP_SUFFIX)) {
            io.delete(file);
            temps++;
          } else if (!Files.isRegularFile(file)) {
            log.warn("disk tier: ignoring unexpected entry {}", file);
          } else {
            Rejection rejection = check(file, name, subdir, found);
            if (rejection != null) {
              switch (rejection) {
                case OTHER_BLOCK_SIZE -> otherBlockSize++;
                case OTHER_VERSION -> otherVersion++;
                case BAD -> bad++;
              }
            }
          }
        }
      }
    }
    found.sort(Comparator.comparingLong(Found::mtime));
    long bytes = 0;
    for (Found f : found) {
      sink.adopt(f.key(), f.file(), f.length(), f.crc(), f.fileLength(), false);
      bytes += f.fileLength();
    }
    log.info("disk tier: indexed {} blocks ({} bytes) under {} in {} ms; "
            + "deleted {} blocks of another block size (now {}), {} blocks of another format "
            + "version, {} bad files and {} temp files",
        found.size(), bytes, root, (System.nanoTime() - start) / 1_000_000, otherBlockSize,
        blockSize, otherVersion, bad, temps);
    return new Result(found.size(), otherBlockSize, otherVersion, bad, temps);
  }

  /**
   * The start-up pass when an index database exists: one directory listing is compared with the
   * records, and no file is read unless the index does not know it.
   * <ul>
   *   <li>a file with a record of this block size is indexed from the record (its payload and
   *       length are checked on every read, so a file damaged since is caught then);
   *   <li>a file without a record (a crash between rename and record) has its header checked,
   *       like {@link #run}, and is adopted if sound, while the time budget lasts; after it, such
   *       files are deleted unread, so a huge unindexed tree cannot hold up the start;
   *   <li>a record whose file is gone, or of another block size, is dropped (with its file);
   *   <li>temp files are deleted.
   * </ul>
   * Files are handed to the sink least recently used first. Logs one summary line.
   *
   * @param records the index database's records by file name hash (consumed)
   */
  Repair reconcile(java.util.Map<String, Stored> records, long budgetNanos, Sink sink,
      IndexEditor editor) throws IOException {
    long start = System.nanoTime();
    List<Stored> known = new ArrayList<>();
    java.util.Map<Stored, Path> knownFiles = new java.util.IdentityHashMap<>();
    List<Found> adopted = new ArrayList<>();
    int temps = 0;
    int orphansDeleted = 0;
    int recordsWithoutFile = 0;
    boolean exhausted = false;
    for (int i = 0; i < DiskTier.SUBDIRS; i++) {
      String subdir = DiskTier.subdirName(i);
      try (DirectoryStream<Path> files = Files.newDirectoryStream(root.resolve(subdir))) {
        for (Path file : files) {
          String name = file.getFileName().toString();
          if (name.endsWith(TEMP_SUFFIX)) {
            io.delete(file);
            temps++;
            continue;
          }
          if (!name.endsWith(BLOCK_SUFFIX)) {
            log.warn("disk tier: ignoring unexpected entry {}", file);
            continue;
          }
          String hash = name.substring(0, name.length() - BLOCK_SUFFIX.length());
          Stored record = records.remove(hash);
          if (record != null && record.blockSize() == blockSize) {
            known.add(record);
            knownFiles.put(record, file);
            continue;
          }
          if (record != null) {
            editor.delete(hash);
            recordsWithoutFile++;
          }
          if (!exhausted && System.nanoTime() - start > budgetNanos) {
            exhausted = true;
            log.warn("disk tier: start-up repair ran past its {} ms budget; block files the index "
                + "does not know are deleted unread from here on", budgetNanos / 1_000_000);
          }
          if (exhausted || !Files.isRegularFile(file)) {
            io.delete(file);
            orphansDeleted++;
          } else if (check(file, name, subdir, adopted) != null) {
            orphansDeleted++;
          }
        }
      }
    }
    for (String hash : records.keySet()) {
      editor.delete(hash);
      recordsWithoutFile++;
    }
    known.sort(Comparator.comparingLong(Stored::lastAccess));
    for (Stored r : known) {
      sink.adopt(r.key(), knownFiles.get(r), r.payloadLength(), r.payloadCrc(), r.fileLength(),
          true);
    }
    for (Found f : adopted) {
      sink.adopt(f.key(), f.file(), f.length(), f.crc(), f.fileLength(), false);
    }
    long millis = (System.nanoTime() - start) / 1_000_000;
    Repair repair = new Repair(known.size(), adopted.size(), orphansDeleted, recordsWithoutFile,
        temps, exhausted, millis);
    log.info("disk tier: loaded {} blocks from the index under {} in {} ms; repaired: {} block "
            + "files without a record adopted, {} deleted, {} records without a file dropped, {} "
            + "temp files deleted", known.size(), root, millis, adopted.size(), orphansDeleted,
        recordsWithoutFile, temps);
    return repair;
  }

  /**
   * Adds the file to {@code found} and returns null if its header is sound and of this block
   * size; otherwise deletes it and says why.
   *
   * @throws IOException if a rejected file cannot be deleted (it would sit uncharged under the
   *     cap)
   */
  private Rejection check(Path file, String name, String subdir, List<Found> found)
      throws IOException {
    Rejection rejection;
    try (FileChannel ch = io.openRead(file)) {
      Header header = BlockFiles.readHeader(ch);
      String hash = BlockFileFormat.hash(header.key(), header.blockSize());
      if (!name.equals(hash + BLOCK_SUFFIX) || !hash.startsWith(subdir)) {
        throw new CorruptBlockFileException("name does not match the block it holds");
      }
      if (header.blockSize() == blockSize) {
        long size = ch.size();
        if (size != header.headerLength() + (long) header.payloadLength()) {
          throw new CorruptBlockFileException("file size " + size + " does not match its header");
        }
        found.add(new Found(header.key(), file, header.payloadLength(), header.payloadCrc(), size,
            Files.getLastModifiedTime(file).toMillis()));
        return null;
      }
      // A sound file from a run with another block_size: its index names another byte range.
      rejection = Rejection.OTHER_BLOCK_SIZE;
      log.debug("disk tier: deleting {}: block size {}, now {}", file, header.blockSize(),
          blockSize);
    } catch (OtherVersionException e) {
      // Written by another release of the format (e.g. before an upgrade): expected, no error.
      rejection = Rejection.OTHER_VERSION;
      log.debug("disk tier: deleting {}: {}", file, e.getMessage());
    } catch (IOException | RuntimeException e) {
      rejection = Rejection.BAD;
      onBadFile.accept("bad block file " + file + " deleted at start-up", e);
    }
    io.delete(file);
    return rejection;
  }
}
