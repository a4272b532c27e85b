package io.s3cache.cache;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.zip.CRC32C;

/**
 * The on-disk layout of one disk-tier block file and its name. Stateless.
 *
 * <pre>
 * offset size  field (big-endian)
 *  0      4    magic 0x53334342 ("S3CB")
 *  4      2    format version (4)
 *  6      2    flags (0)
 *  8      4    header length H: bytes from offset 0 to the payload, header CRC included
 * 12      4    payload length L (at most the block size)
 * 16      4    payload checksum: CRC32C of the chunk checksum table below (the index keeps it too)
 * 20      8    block index
 * 28      4    block size B: the block covers object bytes [index * B, index * B + L)
 * 32      4    chunk size C (a power of two): the payload is checked in chunks of C bytes
 * 36      2+n  bucket  (unsigned 16-bit length, UTF-8)
 *  ..     2+n  key     (ditto)
 *  ..     2+n  etag    (ditto)
 *  ..     4*N  CRC32C of each chunk, N = ceil(L / C) (the last chunk may be shorter)
 *  ..     pad  zeros up to H-4, so that H is the smallest multiple of 4096 that fits the header
 * H-4     4    CRC32C of header bytes [0, H-4)
 * H       L    payload
 * </pre>
 *
 * The payload starts at a multiple of {@link #ALIGNMENT} so that a whole block can be written
 * with {@code O_DIRECT} straight from its (aligned) buffer: no copy into the page cache, which
 * costs more CPU than anything else on a cold read (docs/BENCHMARKS.md). The padding costs nothing
 * on disk: a file's size is rounded up to 4 KiB there anyway.
 *
 * The file name is the SHA-256 (hex) of the block's identity (bucket, key, etag, each length
 * prefixed, then block index and block size), under a subdirectory named by its first two hex
 * digits. The identity is stored in the header too, so a file that is not the block asked for (a
 * hash collision, a file copied or renamed by hand) is detected.
 *
 * <p>The block size is part of the identity because a block index alone does not name a byte
 * range: after a restart with another {@code block_size}, index 1 of the same object version is
 * another range, and may even have the same length. Files of another block size are never
 * served; the start-up scan deletes them.
 *
 * <p>Checksums are per chunk so that a read of a range (a 128 KiB FUSE read of an 8 MiB block)
 * reads and checks only the chunks it touches; the header, table included, is read and checked
 * once per open of the file.
 *
 * <p>Version 1 (no block size field), version 2 (one CRC32C over the whole payload) and version 3
 * (payload right after the checksum table, unaligned) files are refused like any unknown version
 * and deleted at start-up.
 */
final class BlockFileFormat {
  static final int MAGIC = 0x53334342;
  static final short VERSION = 4;
  /** The header's length is a multiple of this: the payload starts aligned for direct I/O. */
  static final int ALIGNMENT = 4096;
  /** Bytes before the variable-length identity fields. */
  static final int FIXED_PREFIX = 36;
  /** Chunk size of the files this code writes (it reads any power of two the header names). */
  static final int CHUNK_SIZE = 64 << 10;
  private static final int MIN_CHUNK_SIZE = 4 << 10;
  /** Bytes read first to learn the header length. */
  static final int LENGTH_PREFIX = 12;
  static final int MAX_HEADER = align(
      FIXED_PREFIX + 3 * (2 + 0xFFFF) + 4 * (CacheConfig.MAX_BLOCK_SIZE / MIN_CHUNK_SIZE) + 4);
  static final String BLOCK_SUFFIX = ".blk";
  static final String TEMP_SUFFIX = ".tmp";

  private BlockFileFormat() {}

  /**
   * What a header says.
   *
   * @param payloadCrc CRC32C of the chunk checksum table: stands for the payload's contents
   * @param chunkCrcs CRC32C of each {@code chunkSize} chunk of the payload (do not modify)
   */
  record Header(int headerLength, int payloadLength, int payloadCrc, BlockKey key, int blockSize,
      int chunkSize, int[] chunkCrcs) {

    /** Payload bytes of chunk {@code i}. */
    int chunkLength(int i) {
      return Math.min(chunkSize, payloadLength - i * chunkSize);
    }
  }

  /** The chunk checksums of a payload and their table's checksum. */
  record Checksums(int[] chunkCrcs, int payloadCrc) {}

  /** A file whose bytes are not a valid block file. */
  static class CorruptBlockFileException extends IOException {
    CorruptBlockFileException(String message) {
      super(message);
    }
  }

  /**
   * A block file (right magic) of a format version this code does not read, e.g. one written
   * before an upgrade: not served; the start-up scan deletes it without counting an error.
   */
  static final class OtherVersionException extends CorruptBlockFileException {
    OtherVersionException(short version) {
      super("unsupported format version " + version);
    }
  }

  /**
   * Hex SHA-256 of the block's identity, block size included; the file's base name.
   *
   * @param blockSize the block size the block was cut with (so index × size is its offset)
   */
  static String hash(BlockKey key, int blockSize) {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("every JDK has SHA-256", e);
    }
    ByteBuffer buf = ByteBuffer.allocate(identityLength(key) + 8 + 4);
    putString(buf, key.bucket());
    putString(buf, key.key());
    putString(buf, key.etag());
    buf.putLong(key.index());
    buf.putInt(blockSize);
    sha.update(buf.flip());
    return HexFormat.of().formatHex(sha.digest());
  }

  /**
   * Header length for this key and a payload of {@code length} bytes; fails if a field is over
   * 65535 bytes of UTF-8.
   */
  static int headerLength(BlockKey key, int length) {
    return align(FIXED_PREFIX + identityLength(key) + 4 * chunkCount(length, CHUNK_SIZE) + 4);
  }

  /** {@code n} rounded up to a multiple of {@link #ALIGNMENT}. */
  static int align(int n) {
    return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
  }

  static int chunkCount(int length, int chunkSize) {
    return (int) ((length + (long) chunkSize - 1) / chunkSize);
  }

  /** The CRC32C of each {@link #CHUNK_SIZE} chunk of the remaining bytes (buffer not moved). */
  static Checksums checksums(ByteBuffer payload) {
    int length = payload.remaining();
    int[] crcs = new int[chunkCount(length, CHUNK_SIZE)];
    ByteBuffer chunk = payload.duplicate();
    for (int i = 0; i < crcs.length; i++) {
      int from = payload.position() + i * CHUNK_SIZE;
      chunk.limit(Math.min(payload.limit(), from + CHUNK_SIZE)).position(from);
      crcs[i] = crc(chunk);
    }
    return new Checksums(crcs, tableCrc(crcs));
  }

  /** CRC32C of a chunk checksum table (big-endian ints): the payload checksum. */
  static int tableCrc(int[] chunkCrcs) {
    ByteBuffer table = ByteBuffer.allocate(4 * chunkCrcs.length);
    table.asIntBuffer().put(chunkCrcs);
    return crc(table);
  }

  /**
   * The header for a payload of {@code length} bytes with these chunk checksums (from {@link
   * #checksums}), cut with block size {@code blockSize}.
   *
   * @throws IllegalArgumentException if the block size is not positive or the payload is longer
   *     than a block, or an identity field is over 65535 bytes of UTF-8
   */
  static ByteBuffer encodeHeader(BlockKey key, int blockSize, int length, Checksums sums) {
    if (blockSize <= 0 || length < 0 || length > blockSize
        || sums.chunkCrcs().length != chunkCount(length, CHUNK_SIZE)) {
      throw new IllegalArgumentException(
          "payload of " + length + " bytes for block size " + blockSize);
    }
    ByteBuffer buf = ByteBuffer.allocate(headerLength(key, length));
    buf.putInt(MAGIC)
        .putShort(VERSION)
        .putShort((short) 0)
        .putInt(buf.capacity())
        .putInt(length)
        .putInt(sums.payloadCrc())
        .putLong(key.index())
        .putInt(blockSize)
        .putInt(CHUNK_SIZE);
    putString(buf, key.bucket());
    putString(buf, key.key());
    putString(buf, key.etag());
    for (int c : sums.chunkCrcs()) {
      buf.putInt(c);
    }
    buf.position(buf.capacity() - 4); // the padding stays zero
    buf.putInt(crc(buf.duplicate().flip()));
    return buf.flip();
  }

  /**
   * The header length announced by the first {@link #LENGTH_PREFIX} bytes, after checking magic
   * and version.
   */
  static int announcedHeaderLength(ByteBuffer prefix) throws CorruptBlockFileException {
    if (prefix.remaining() < LENGTH_PREFIX) {
      throw new CorruptBlockFileException("truncated header");
    }
    int magic = prefix.getInt(prefix.position());
    if (magic != MAGIC) {
      throw new CorruptBlockFileException("bad magic " + Integer.toHexString(magic));
    }
    short version = prefix.getShort(prefix.position() + 4);
    if (version != VERSION) {
      throw new OtherVersionException(version);
    }
    int length = prefix.getInt(prefix.position() + 8);
    if (length < FIXED_PREFIX + 3 * 2 + 4 || length > MAX_HEADER) {
      throw new CorruptBlockFileException("implausible header length " + length);
    }
    return length;
  }

  /** Parses and checks a whole header (position 0 to its limit). */
  static Header decodeHeader(ByteBuffer header) throws CorruptBlockFileException {
    int headerLength = announcedHeaderLength(header);
    if (header.remaining() != headerLength) {
      throw new CorruptBlockFileException("truncated header");
    }
    ByteBuffer covered = header.duplicate();
    covered.limit(covered.position() + headerLength - 4);
    int expectedCrc = header.getInt(header.position() + headerLength - 4);
    if (crc(covered) != expectedCrc) {
      throw new CorruptBlockFileException("header checksum mismatch");
    }
    ByteBuffer in = header.duplicate();
    in.position(in.position() + 12);
    int payloadLength = in.getInt();
    int payloadCrc = in.getInt();
    long index = in.getLong();
    int blockSize = in.getInt();
    int chunkSize = in.getInt();
    try {
      String bucket = getString(in, headerLength - 4);
      String key = getString(in, headerLength - 4);
      String etag = getString(in, headerLength - 4);
      if (payloadLength < 0 || index < 0 || blockSize <= 0 || payloadLength > blockSize
          || chunkSize < MIN_CHUNK_SIZE || Integer.bitCount(chunkSize) != 1
          || in.position() + 4L * chunkCount(payloadLength, chunkSize) + 4 > headerLength
          || align(in.position() + 4 * chunkCount(payloadLength, chunkSize) + 4) != headerLength) {
        throw new CorruptBlockFileException("inconsistent header fields");
      }
      int[] chunkCrcs = new int[chunkCount(payloadLength, chunkSize)];
      in.asIntBuffer().get(chunkCrcs);
      if (tableCrc(chunkCrcs) != payloadCrc) {
        throw new CorruptBlockFileException("chunk checksum table does not match its checksum");
      }
      return new Header(headerLength, payloadLength, payloadCrc,
          new BlockKey(bucket, key, etag, index), blockSize, chunkSize, chunkCrcs);
    } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
      throw new CorruptBlockFileException("malformed identity fields");
    }
  }

  /** CRC32C of the remaining bytes; does not move the buffer's position. */
  static int crc(ByteBuffer buf) {
    CRC32C crc = new CRC32C();
    crc.update(buf.duplicate());
    return (int) crc.getValue();
  }

  private static int identityLength(BlockKey key) {
    return 6 + utf8Length(key.bucket()) + utf8Length(key.key()) + utf8Length(key.etag());
  }

  private static int utf8Length(String s) {
    int n = s.getBytes(StandardCharsets.UTF_8).length;
    if (n > 0xFFFF) {
      throw new IllegalArgumentException("identity field over 65535 bytes");
    }
    return n;
  }

  private static void putString(ByteBuffer buf, String s) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    buf.putShort((short) bytes.length).put(bytes);
  }

  private static String getString(ByteBuffer in, int end) {
    int n = Short.toUnsignedInt(in.getShort());
    if (in.position() + n > end) {
      throw new IndexOutOfBoundsException();
    }
    byte[] bytes = new byte[n];
    in.get(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
