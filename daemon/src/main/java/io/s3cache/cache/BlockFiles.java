package io.s3cache.cache;

import io.s3cache.cache.BlockFileFormat.CorruptBlockFileException;
import io.s3cache.cache.BlockFileFormat.Header;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads and writes one block file (layout in {@link BlockFileFormat}) through the {@link
 * BlockFileIo} seam. It keeps no index, charges no space and takes no lock: {@link DiskTier}
 * decides which file, when, and under which key ownership; {@link DiskTierScan} reads headers.
 */
final class BlockFiles {

  private static final Logger log = LoggerFactory.getLogger(BlockFiles.class);

  /** What a committed write left on disk. */
  record Written(int length, int crc, long fileLength) {}

  /** Per writer thread: an aligned buffer for headers written with O_DIRECT. */
  private static final ThreadLocal<ByteBuffer> HEADER_BUFFERS = new ThreadLocal<>();

  private final BlockFileIo io;
  private final int blockSize;
  private final boolean fsync;
  /** Whether aligned blocks are written with O_DIRECT; off for good after the first refusal. */
  private volatile boolean direct;
  /** Whether whole blocks are read with O_DIRECT; off for good after the first refusal. */
  private volatile boolean directReads;

  /**
   * @param direct write aligned blocks with {@code O_DIRECT}: the kernel then takes the bytes from
   *     the block's buffer for the device without copying them into the page cache (the
   *     filesystem's block size must divide {@link BlockFileFormat#ALIGNMENT})
   */
  BlockFiles(BlockFileIo io, int blockSize, boolean fsync, boolean direct) {
    this.io = io;
    this.blockSize = blockSize;
    this.fsync = fsync;
    this.direct = direct;
    this.directReads = direct;
  }

  /** Whether writes of aligned blocks still go around the page cache. */
  boolean direct() {
    return direct;
  }

  /** Bytes read at once from a file's start: the whole header of any usual block file. */
  private static final int HEADER_READ = 4096;

  /**
   * The header at the start of an open block file (positional reads: the channel stays put), in
   * one read for any header up to {@link #HEADER_READ} bytes.
   */
  static Header readHeader(FileChannel ch) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(HEADER_READ);
    while (buf.position() < BlockFileFormat.LENGTH_PREFIX) {
      if (ch.read(buf, buf.position()) < 0) {
        throw new CorruptBlockFileException("truncated header");
      }
    }
    int headerLength = BlockFileFormat.announcedHeaderLength(buf.duplicate().flip());
    if (headerLength > buf.capacity()) {
      buf = ByteBuffer.allocate(headerLength).put(buf.flip());
    }
    if (buf.position() > headerLength) {
      buf.limit(buf.position()).position(headerLength); // read past the header: cut it there
    } else {
      buf.limit(headerLength);
      readFully(ch, buf, buf.position());
    }
    return BlockFileFormat.decodeHeader(buf.flip());
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
    checkChunks(span.duplicate().limit(span.position()).position(base), header, first);
    if (aligned) {
      dst.position(dst.position() + n);
    } else {
      dst.put(span.position(offset - spanStart).limit(offset - spanStart + n));
    }
  }

  /**
   * Reads the whole payload of an open block file whose header was checked into {@code dst}
   * (advancing it by the payload's length), every chunk checked against its CRC32C. Into an
   * aligned direct buffer with room for the payload rounded up to {@link
   * BlockFileFormat#ALIGNMENT} (a pooled block buffer) it is one read with {@code O_DIRECT}: the
   * device writes into the buffer and the page cache keeps no second copy. Where that read does
   * not happen or fails (see {@link #readDirect}) the block is read through the page cache, as
   * into any other buffer. On failure {@code dst}'s position stays put.
   *
   * @param file the file {@code ch} reads (opened again with {@code O_DIRECT})
   * @throws CorruptBlockFileException if the payload is short or a chunk fails its checksum
   */
  void readWhole(Path file, FileChannel ch, Header header, ByteBuffer dst) throws IOException {
    int length = header.payloadLength();
    int rounded = BlockFileFormat.align(length);
    if (directReads && dst.isDirect() && dst.capacity() - dst.position() >= rounded
        && header.headerLength() % BlockFileFormat.ALIGNMENT == 0
        && dst.alignmentOffset(dst.position(), BlockFileFormat.ALIGNMENT) == 0) {
      int base = dst.position();
      ByteBuffer span = dst.duplicate();
      span.limit(base + rounded);
      if (readDirect(file, span, header.headerLength()) == length) {
        checkChunks(span.flip().position(base), header, 0); // a mismatch: the file is corrupt
        dst.position(base + length);
        return;
      }
    }
    readRange(ch, header, 0, dst);
  }

  /**
   * Reads {@code file} from {@code position} into {@code span} with {@code O_DIRECT} until the
   * span is full or the file ends. The bytes read, or -1 where no direct read happened or it
   * failed: the caller then reads through the page cache, where a real fault of the file shows
   * and is handled as with any read. Only the filesystem's refusal (no {@code O_DIRECT}, {@code
   * EINVAL}, an alignment it does not take) turns direct reads off, for good.
   */
  private int readDirect(Path file, ByteBuffer span, long position) throws IOException {
    FileChannel direct;
    try {
      direct = io.openReadDirect(file);
    } catch (java.nio.file.NoSuchFileException gone) {
      throw gone; // evicted meanwhile: a miss, as for any read
    } catch (IOException | UnsupportedOperationException e) {
      refused(e);
      return -1;
    }
    int start = span.position();
    try (FileChannel d = direct) {
      long pos = position;
      while (span.hasRemaining()) {
        int n = d.read(span, pos);
        if (n <= 0) {
          break;
        }
        pos += n;
        if (n % BlockFileFormat.ALIGNMENT != 0) {
          break; // the file's end: a direct read from an unaligned position would be refused
        }
      }
      return span.position() - start;
    } catch (IOException e) {
      refused(e);
      return -1;
    }
  }

  /** Turns direct reads off if {@code e} is the filesystem refusing them (logged once). */
  private void refused(Exception e) {
    String m = String.valueOf(e.getMessage());
    boolean refusal = e instanceof UnsupportedOperationException || m.contains("Invalid argument")
        || m.contains("not a multiple of the block size") || m.contains("DirectIO");
    if (refusal && directReads) {
      directReads = false;
      log.info("disk tier: the cache's filesystem refuses direct reads of block files ({}); reading "
          + "through the page cache from now on", e.toString());
    }
  }

  /**
   * Checks the chunks in {@code span} (from its position to its limit, starting with chunk {@code
   * first}) against the header's CRC32Cs; neither moves it.
   */
  private static void checkChunks(ByteBuffer span, Header header, int first) throws IOException {
    int c = header.chunkSize();
    int base = span.position();
    int last = first + (span.remaining() - 1) / c;
    ByteBuffer chunk = span.duplicate();
    for (int i = first; i <= last; i++) {
      int from = base + (i - first) * c;
      chunk.limit(from + header.chunkLength(i)).position(from);
      if (BlockFileFormat.crc(chunk) != header.chunkCrcs()[i]) {
        throw new CorruptBlockFileException("checksum mismatch in chunk " + i);
      }
    }
  }

  /**
   * Writes the block's remaining bytes (the buffer is not moved) with its header into {@code
   * temp}, forces it to the device if so configured, and renames it onto {@code file}. A block in
   * an aligned direct buffer whose length is a multiple of {@link BlockFileFormat#ALIGNMENT} (a
   * whole pooled block) is written with {@code O_DIRECT}; if that fails, direct writes are turned
   * off for good (logged once: a filesystem that refuses them, such as some tmpfs) and this block
   * is written again through the page cache. On failure either name may be left behind: the
   * caller deletes both.
   */
  Written write(Path temp, Path file, BlockKey key, ByteBuffer block) throws IOException {
    ByteBuffer payload = block.duplicate();
    int length = payload.remaining();
    BlockFileFormat.Checksums sums = BlockFileFormat.checksums(payload);
    ByteBuffer header = BlockFileFormat.encodeHeader(key, blockSize, length, sums);
    long fileLength = header.remaining() + (long) length;
    boolean written = false;
    if (direct && aligned(payload)) {
      try {
        writeDirect(temp, header.duplicate(), payload.duplicate());
        written = true;
      } catch (DirectRefused e) {
        // Only the filesystem's refusal turns direct writes off: a full disk, an I/O error or an
        // interrupted write fails this block like any other write and says nothing of O_DIRECT.
        direct = false;
        directReads = false; // what refuses direct writes refuses direct reads of the same files
        log.info("disk tier: the cache's filesystem refuses direct writes of block files ({}); writing "
            + "through the page cache from now on", e.getCause().toString());
        io.delete(temp);
      }
    }
    if (!written) {
      try (FileChannel ch = io.createWrite(temp, false)) {
        ByteBuffer[] parts = {header, payload};
        for (long n = 0; n < fileLength; ) {
          n += ch.write(parts);
        }
        if (fsync) {
          ch.force(false);
        }
      }
    }
    io.moveAtomic(temp, file);
    return new Written(length, sums.payloadCrc(), fileLength);
  }

  private static boolean aligned(ByteBuffer payload) {
    return payload.isDirect() && payload.remaining() % BlockFileFormat.ALIGNMENT == 0
        && payload.alignmentOffset(payload.position(), BlockFileFormat.ALIGNMENT) == 0;
  }

  private void writeDirect(Path temp, ByteBuffer header, ByteBuffer payload) throws IOException {
    ByteBuffer h = HEADER_BUFFERS.get();
    if (h == null || h.capacity() < header.remaining()) {
      h = ByteBuffer.allocateDirect(header.remaining() + BlockFileFormat.ALIGNMENT)
          .alignedSlice(BlockFileFormat.ALIGNMENT);
      HEADER_BUFFERS.set(h);
    }
    h.clear();
    h.put(header).flip();
    FileChannel opened;
    try {
      opened = io.createWrite(temp, true);
    } catch (IOException | UnsupportedOperationException e) {
      throw new DirectRefused(e); // O_DIRECT refused at open (EINVAL on some tmpfs)
    }
    try (FileChannel ch = opened) {
      while (h.hasRemaining()) {
        ch.write(h);
      }
      while (payload.hasRemaining()) {
        ch.write(payload);
      }
      if (fsync) {
        ch.force(false);
      }
    } catch (IOException e) {
      if (String.valueOf(e.getMessage()).contains("Invalid argument")) {
        throw new DirectRefused(e); // EINVAL: the filesystem takes O_DIRECT but not these writes
      }
      throw e;
    }
  }

  /** The filesystem refuses direct writes (as opposed to this write failing). */
  private static final class DirectRefused extends IOException {
    DirectRefused(Throwable cause) {
      super(cause);
    }
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
