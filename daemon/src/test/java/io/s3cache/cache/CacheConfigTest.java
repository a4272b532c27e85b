package io.s3cache.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class CacheConfigTest {
  private final CacheConfig defaults = CacheConfig.defaults(Path.of("/nvme/s3cache"));

  @Test
  void defaults() {
    assertEquals(8 << 20, defaults.blockSize());
    assertEquals(1L << 30, defaults.ramCacheBytes());
    assertEquals(10L << 30, defaults.diskCacheBytes());
    assertEquals(64, defaults.maxConcurrentFetches());
    assertFalse(defaults.fsyncDiskWrites());
    assertTrue(defaults.ramTierEnabled() && defaults.diskTierEnabled());
  }

  @Test
  void rejectsBadValuesWithOneLineMessages() {
    assertMessage("blockSize must be a power of two", () -> defaults.withBlockSize(3 << 20));
    assertMessage("blockSize must be a power of two", () -> defaults.withBlockSize(32 << 10));
    assertMessage("blockSize must be a power of two", () -> defaults.withBlockSize(128 << 20));
    assertMessage("ramCacheBytes must be >= 0", () -> defaults.withRamCacheBytes(-1));
    assertMessage("diskCacheBytes must be 0", () -> defaults.withDiskCacheBytes(4096));
    assertMessage("maxConcurrentFetches must be >= 1", () -> defaults.withMaxConcurrentFetches(0));
    assertMessage("cacheDir is required",
        () -> new CacheConfig(8 << 20, 0, null, 1L << 30, 1, 0, false));
  }

  @Test
  void tiersCanBeTurnedOff() {
    CacheConfig off = new CacheConfig(64 << 10, 0, null, 0, 1, 0, false);
    assertFalse(off.ramTierEnabled());
    assertFalse(off.diskTierEnabled());
  }

  private static void assertMessage(String start, Runnable build) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, build::run);
    assertTrue(e.getMessage().startsWith(start), e.getMessage());
    assertFalse(e.getMessage().contains("\n"));
  }
}
