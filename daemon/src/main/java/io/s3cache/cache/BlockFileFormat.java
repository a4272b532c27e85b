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
 *  4      2    format version (2)
 *  6      2    flags (0)
 *  8      4    header length H: bytes from offset 0 to the payload, header CRC included
 * 12      4    payload length L (at most the block size)
 * 16      4    CRC32C of the payload
 * 20      8    block index
 * 28      4    block size B: the block covers object bytes [index * B, index * B + L)
 * 32      2+n  bucket  (unsigned 16-bit length, UTF-8)
 *  ..     2+n  key     (ditto)
 *  ..     2+n  etag    (ditto)
 * H-4     4    CRC32C of header bytes [0, H-4)
 * H       L    payload
 * </pre>
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
 * <p>Version 1 (no block size field) files are refused like any unknown version and deleted at
 * start-up.
 */
final class BlockFileFormat {
  static final int MAGIC = 0x53334342;
  static final short VERSION = 2;
  /** Bytes before the variable-length identity fields. */
  static final int FIXED_PREFIX = 32;
  /** Bytes read first to learn the header length. */
  static final int LENGTH_PREFIX = 12;
  static final int MAX_HEADER = FIXED_PREFIX + 3 * (2 + 0xFFFF) + 4;
  static final String BLOCK_SUFFIX = ".blk";
  static final String TEMP_SUFFIX = ".tmp";

  private BlockFileFormat() {}

  /** What a header says. */
  record Header(int headerLength, int payloadLength, int payloadCrc, BlockKey key, int blockSize) {}

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

  /** Header length for this key; fails if a field is over 65535 bytes of UTF-8. */
  static int headerLength(BlockKey key) {
    return FIXED_PREFIX + identityLength(key) + 4;
  }

  /**
   * The header for a payload of {@code length} bytes with CRC32C {@code payloadCrc}, cut with
   * block size {@code blockSize}.
   *
   * @throws IllegalArgumentException if the block size is not positive or the payload is longer
   *     than a block, or an identity field is over 65535 bytes of UTF-8
   */
  static ByteBuffer encodeHeader(BlockKey key, int blockSize, int length, int payloadCrc) {
    if (blockSize <= 0 || length < 0 || length > blockSize) {
      throw new IllegalArgumentException(
          "payload of " + length + " bytes for block size " + blockSize);
    }
    ByteBuffer buf = ByteBuffer.allocate(headerLength(key));
    buf.putInt(MAGIC)
        .putShort(VERSION)
        .putShort((short) 0)
        .putInt(buf.capacity())
        .putInt(length)
        .putInt(payloadCrc)
        .putLong(key.index())
        .putInt(blockSize);
    putString(buf, key.bucket());
    putString(buf, key.key());
    putString(buf, key.etag());
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
    try {
      String bucket = getString(in, headerLength - 4);
      String key = getString(in, headerLength - 4);
      String etag = getString(in, headerLength - 4);
      if (payloadLength < 0 || index < 0 || blockSize <= 0 || payloadLength > blockSize
          || in.position() != headerLength - 4) {
        throw new CorruptBlockFileException("inconsistent header fields");
      }
      return new Header(headerLength, payloadLength, payloadCrc,
          new BlockKey(bucket, key, etag, index), blockSize);
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
