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
   * The payload of {@code file} in a new direct buffer (position 0, limit {@code length}), after
   * checking that the file holds exactly this block of this block size, that its checksum is the
   * one the index recorded, and that the payload matches it.
   *
   * @throws java.nio.file.NoSuchFileException if the file is gone
   * @throws CorruptBlockFileException if any check fails
   */
  ByteBuffer readPayload(Path file, BlockKey key, int length, int indexedCrc) throws IOException {
    try (FileChannel ch = io.openRead(file)) {
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
      long size = ch.size();
      if (size != header.headerLength() + (long) length) {
        throw new CorruptBlockFileException("file size " + size + " does not match its header");
      }
      ByteBuffer payload = ByteBuffer.allocateDirect(length);
      readFully(ch, payload, header.headerLength());
      payload.flip();
      if (header.payloadCrc() != indexedCrc) {
        throw new CorruptBlockFileException("header checksum differs from the index's");
      }
      if (BlockFileFormat.crc(payload) != header.payloadCrc()) {
        throw new CorruptBlockFileException("payload checksum mismatch");
      }
      return payload;
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
    int crc = BlockFileFormat.crc(payload);
    ByteBuffer header = BlockFileFormat.encodeHeader(key, blockSize, length, crc);
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
    return new Written(length, crc, fileLength);
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
