package io.s3cache.cache;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The value of one block's record in the index database ({@link CacheDatabase}, column family
 * {@code blocks}, keyed by the raw SHA-256 that also names the block file). Stateless.
 *
 * <pre>
 * 1  record version (3: block files of format 4)
 * 4  block size
 * 4  payload length
 * 4  payload checksum (CRC32C of the file's chunk checksum table)
 * 8  file length (header + payload)
 * 8  last access (the tier's logical clock)
 * 8  block index
 * 2+n bucket, 2+n key, 2+n etag (UTF-8, unsigned 16-bit lengths)
 * </pre>
 */
final class BlockRecord {
  /**
   * Bumped with the block file format: a record of an older version is not read, so its file is
   * treated as unknown at start-up, its header checked and, being of another format, deleted.
   */
  static final byte VERSION = 3;

  private BlockRecord() {}

  /** The record with {@code lastAccess} as its access (the entry's may move meanwhile). */
  static byte[] encode(BlockKey key, int blockSize, DiskTier.Entry entry, long lastAccess) {
    byte[] bucket = key.bucket().getBytes(StandardCharsets.UTF_8);
    byte[] name = key.key().getBytes(StandardCharsets.UTF_8);
    byte[] etag = key.etag().getBytes(StandardCharsets.UTF_8);
    ByteBuffer buf = ByteBuffer.allocate(1 + 4 + 4 + 4 + 8 + 8 + 8 + 6 + bucket.length
        + name.length + etag.length);
    buf.put(VERSION).putInt(blockSize).putInt(entry.length).putInt(entry.crc)
        .putLong(entry.fileLength).putLong(lastAccess).putLong(key.index());
    for (byte[] s : new byte[][] {bucket, name, etag}) {
      buf.putShort((short) s.length).put(s);
    }
    return buf.array();
  }

  /**
   * The record's fields, or null if it is not a record this code reads (another version, or
   * damaged): the start-up repair then treats its file as unknown and checks its header.
   */
  static DiskTierScan.Stored decode(byte[] value) {
    try {
      ByteBuffer in = ByteBuffer.wrap(value);
      if (in.get() != VERSION) {
        return null;
      }
      int blockSize = in.getInt();
      int length = in.getInt();
      int crc = in.getInt();
      long fileLength = in.getLong();
      long lastAccess = in.getLong();
      long index = in.getLong();
      String bucket = string(in);
      String key = string(in);
      String etag = string(in);
      if (in.hasRemaining() || length < 0 || length > blockSize || fileLength < length) {
        return null;
      }
      return new DiskTierScan.Stored(new BlockKey(bucket, key, etag, index), blockSize, length,
          crc, fileLength, lastAccess);
    } catch (RuntimeException e) {
      return null;
    }
  }

  private static String string(ByteBuffer in) {
    byte[] bytes = new byte[Short.toUnsignedInt(in.getShort())];
    in.get(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
