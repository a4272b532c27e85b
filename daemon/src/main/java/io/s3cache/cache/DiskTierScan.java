package io.s3cache.cache;

import static io.s3cache.cache.BlockFileFormat.BLOCK_SUFFIX;
import static io.s3cache.cache.BlockFileFormat.TEMP_SUFFIX;

import io.s3cache.cache.BlockFileFormat.CorruptBlockFileException;
import io.s3cache.cache.BlockFileFormat.Header;
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
 * file's name and place, size matching the header) and hands the good ones to the tier oldest
 * first (by modification time, the best recency a fresh process has). Bad or unknown files are
 * deleted. Reads only headers, so its cost is one small read per file; payload checksums are
 * checked on every read instead. Runs once, single-threaded, before the tier is shared.
 */
final class DiskTierScan {

  /** Receives one good block file. */
  interface Sink {
    void adopt(BlockKey key, Path file, int payloadLength, long fileLength);
  }

  private static final Logger log = LoggerFactory.getLogger(DiskTierScan.class);

  private record Found(BlockKey key, Path file, int length, long fileLength, long mtime) {}

  private final Path root;
  private final BlockFileIo io;
  private final BiConsumer<String, Throwable> onBadFile;

  DiskTierScan(Path root, BlockFileIo io, BiConsumer<String, Throwable> onBadFile) {
    this.root = root;
    this.io = io;
    this.onBadFile = onBadFile;
  }

  void run(Sink sink) throws IOException {
    long start = System.nanoTime();
    List<Found> found = new ArrayList<>();
    int temps = 0;
    int bad = 0;
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
            Found f = check(file, name, subdir);
            if (f != null) {
              found.add(f);
            } else {
              bad++;
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
            + "deleted {} bad files and {} temp files",
        found.size(), bytes, root, (System.nanoTime() - start) / 1_000_000, bad, temps);
  }

  /**
   * The file's identity if its header is sound; otherwise deletes it and returns null.
   *
   * @throws IOException if a bad file cannot be deleted (it would sit uncharged under the cap)
   */
  private Found check(Path file, String name, String subdir) throws IOException {
    try (FileChannel ch = io.openRead(file)) {
      ByteBuffer prefix = ByteBuffer.allocate(BlockFileFormat.LENGTH_PREFIX);
      readFully(ch, prefix);
      int headerLength = BlockFileFormat.announcedHeaderLength(prefix.flip());
      ByteBuffer headerBytes = ByteBuffer.allocate(headerLength);
      ch.position(0);
      readFully(ch, headerBytes);
      Header header = BlockFileFormat.decodeHeader(headerBytes.flip());
      String hash = BlockFileFormat.hash(header.key());
      if (!name.equals(hash + BLOCK_SUFFIX) || !hash.startsWith(subdir)) {
        throw new CorruptBlockFileException("name does not match the block it holds");
      }
      long size = ch.size();
      if (size != headerLength + (long) header.payloadLength()) {
        throw new CorruptBlockFileException("file size " + size + " does not match its header");
      }
      return new Found(header.key(), file, header.payloadLength(), size,
          Files.getLastModifiedTime(file).toMillis());
    } catch (IOException | RuntimeException e) {
      onBadFile.accept("bad block file " + file + " deleted at start-up", e);
    }
    io.delete(file);
    return null;
  }

  private static void readFully(FileChannel ch, ByteBuffer dst) throws IOException {
    while (dst.hasRemaining()) {
      if (ch.read(dst) < 0) {
        throw new CorruptBlockFileException("truncated file");
      }
    }
  }
}
