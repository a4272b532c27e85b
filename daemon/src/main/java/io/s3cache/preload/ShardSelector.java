package io.s3cache.preload;

import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * Which objects belong to shard {@code index} of {@code count}: a stable hash of the key, so every
 * node of a data-parallel job computes the same split and every object lands in exactly one shard.
 */
public record ShardSelector(int index, int count) {

  public static final ShardSelector ALL = new ShardSelector(0, 1);

  public ShardSelector {
    if (count < 1 || index < 0 || index >= count) {
      throw new IllegalArgumentException("invalid shard " + index + "/" + count + ": need 0 <= I < N");
    }
  }

  public boolean selects(String key) {
    if (count == 1) {
      return true;
    }
    CRC32C crc = new CRC32C();
    crc.update(key.getBytes(StandardCharsets.UTF_8));
    return crc.getValue() % count == index;
  }
}
