package io.s3cache.cache;

import io.s3cache.cache.BlockFileFormat.CorruptBlockFileException;
import io.s3cache.cache.BlockFileFormat.Header;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * Reads and writes one block file (layout in {@link BlockFileFormat}) through the {@link
 * BlockFileIo} seam. It keeps no index, charges no space and takes no lock: {@link DiskTier}
 * decides which file, when, and under which key ownership; {@link DiskTierScan} reads headers.
 */
final class BlockFiles {

  /** What a committed write left on disk. */
  record Written(int length, int crc, long fileLength) {}

  private final BlockFileIo io;
  private final int blockSize;
  private final boolean fsync;

  BlockFiles(BlockFileIo io, int blockSize, boolean fsync) {
    this.io = io;
    this.blockSize = blockSize;
    this.fsync = fsync;
  }

  /** The header at the start of an open block file (positional reads: the channel stays put). */
  static Header readHeader(FileChannel ch) throws IOException {
    ByteBuffer prefix = ByteBuffer.allocate(BlockFileFormat.LENGTH_PREFIX);
    readFully(ch, prefix, 0);
    ByteBuffer headerBytes = ByteBuffer.allocate(BlockFileFormat.announcedHeaderLength(prefix.flip()));
    readFully(ch, headerBytes, 0);
    return BlockFileFormat.decodeHeader(headerBytes.flip());
  }

  /**
   * Reads and checks the header of an open block file: it must hold exactly this block of this
   * block size and {@code length}, with the payload checksum the index recorded, and the file
   * must be as long as the header says. The payload is checked later, chunk by chunk, by {@link
   * #readRange}.
   *
   * @throws CorruptBlockFileException if any check fails
   */
  Header checkHeader(FileChannel ch, BlockKey key, int length, int indexedCrc) throws IOException {
    Header header = readHeader(ch);
    if (!header.key().equals(key)) {
      throw new CorruptBlockFileException("file holds another block: " + header.key());
    }
    if (header.blockSize() != blockSize) {
      // Same index, another byte range: never serve it, whatever its length.
      throw new CorruptBlockFileException("file holds a block of block size "
          + header.blockSize() + ", expected " + blockSize);
    }
    if (header.payloadLength() != length) {
      throw new CorruptBlockFileException(
          "payload length " + header.payloadLength() + ", expected " + length);
    }
    if (header.payloadCrc() != indexedCrc) {
      throw new CorruptBlockFileException("header checksum differs from the index's");
    }
    long size = ch.size();
    if (size != header.headerLength() + (long) length) {
      throw new CorruptBlockFileException("file size " + size + " does not match its header");
    }
    return header;
  }

  /**
   * Copies payload bytes {@code [offset, offset + dst.remaining())} into {@code dst} with
   * positional reads of just the chunks they touch, each checked against its CRC32C. On success
   * {@code dst}'s position advances; on failure it stays put (bytes past it may be overwritten).
   * A chunk-aligned range is read straight into {@code dst}; any other through a buffer of the
   * covering chunks.
   *
   * @throws CorruptBlockFileException if a chunk is short or fails its checksum
   */
  static void readRange(FileChannel ch, Header header, int offset, ByteBuffer dst)
      throws IOException {
    int n = dst.remaining();
    if (n == 0) {
      return;
    }
    int c = header.chunkSize();
    int first = offset / c;
    int last = (offset + n - 1) / c;
    int spanStart = first * c;
    int spanEnd = Math.min(header.payloadLength(), (last + 1) * c);
    boolean aligned = spanStart == offset && spanEnd == offset + n;
    ByteBuffer span = aligned ? dst.duplicate() : ByteBuffer.allocate(spanEnd - spanStart);
    int base = span.position();
    readFully(ch, span, header.headerLength() + (long) spanStart);
    ByteBuffer chunk = span.duplicate();
    for (int i = first; i <= last; i++) {
      int from = base + (i - first) * c;
      chunk.limit(from + header.chunkLength(i)).position(from);
      if (BlockFileFormat.crc(chunk) != header.chunkCrcs()[i]) {
        throw new CorruptBlockFileException("checksum mismatch in chunk " + i);
      }
    }
    if (aligned) {
      dst.position(dst.position() + n);
    } else {
      dst.put(span.position(offset - spanStart).limit(offset - spanStart + n));
    }
  }

  /**
   * Writes the block's remaining bytes (the buffer is not moved) with its header into {@code
   * temp}, forces it to the device if so configured, and renames it onto {@code file}. On failure
   * either name may be left behind: the caller deletes both.
   */
  Written write(Path temp, Path file, BlockKey key, ByteBuffer block) throws IOException {
    ByteBuffer payload = block.duplicate();
    int length = payload.remaining();
    BlockFileFormat.Checksums sums = BlockFileFormat.checksums(payload);
    ByteBuffer header = BlockFileFormat.encodeHeader(key, blockSize, length, sums);
    long fileLength = header.remaining() + (long) length;
    try (FileChannel ch = io.createWrite(temp)) {
      ByteBuffer[] parts = {header, payload};
      for (long written = 0; written < fileLength; ) {
        written += ch.write(parts);
      }
      if (fsync) {
        ch.force(false);
      }
    }
    io.moveAtomic(temp, file);
    return new Written(length, sums.payloadCrc(), fileLength);
  }

  private static void readFully(FileChannel ch, ByteBuffer dst, long position) throws IOException {
    long pos = position;
    while (dst.hasRemaining()) {
      int n = ch.read(dst, pos);
      if (n < 0) {
        throw new CorruptBlockFileException("truncated file");
      }
      pos += n;
    }
  }
}
