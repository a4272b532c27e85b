package io.s3cache.cache;

import static io.s3cache.cache.BlockFileFormat.BLOCK_SUFFIX;
import static io.s3cache.cache.BlockFileFormat.TEMP_SUFFIX;

import io.s3cache.cache.BlockFileFormat.CorruptBlockFileException;
import io.s3cache.cache.BlockFileFormat.Header;
import io.s3cache.cache.BlockFileFormat.OtherVersionException;
import java.io.IOException;
import java.nio.ByteBuffer;
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
    void adopt(BlockKey key, Path file, int payloadLength, long fileLength);
  }

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

  private record Found(BlockKey key, Path file, int length, long fileLength, long mtime) {}

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
      sink.adopt(f.key(), f.file(), f.length(), f.fileLength());
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
      ByteBuffer prefix = ByteBuffer.allocate(BlockFileFormat.LENGTH_PREFIX);
      readFully(ch, prefix);
      int headerLength = BlockFileFormat.announcedHeaderLength(prefix.flip());
      ByteBuffer headerBytes = ByteBuffer.allocate(headerLength);
      ch.position(0);
      readFully(ch, headerBytes);
      Header header = BlockFileFormat.decodeHeader(headerBytes.flip());
      String hash = BlockFileFormat.hash(header.key(), header.blockSize());
      if (!name.equals(hash + BLOCK_SUFFIX) || !hash.startsWith(subdir)) {
        throw new CorruptBlockFileException("name does not match the block it holds");
      }
      if (header.blockSize() == blockSize) {
        long size = ch.size();
        if (size != headerLength + (long) header.payloadLength()) {
          throw new CorruptBlockFileException("file size " + size + " does not match its header");
        }
        found.add(new Found(header.key(), file, header.payloadLength(), size,
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

  private static void readFully(FileChannel ch, ByteBuffer dst) throws IOException {
    while (dst.hasRemaining()) {
      if (ch.read(dst) < 0) {
        throw new CorruptBlockFileException("truncated file");
      }
    }
  }
}
