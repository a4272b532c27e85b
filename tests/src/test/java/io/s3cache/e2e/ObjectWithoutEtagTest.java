package io.s3cache.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.s3cache.config.SettingKey;
import io.s3cache.mount.BucketMount;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Objects a store serves without an ETag (issue 15, item 9: files placed into a filesystem-backed
 * store read as EIO with a NullPointerException): readable, their version is (size,
 * Last-Modified), and a replaced object is read in its new version, never mixed with the old.
 */
class ObjectWithoutEtagTest {

  private MountFixture fx;

  @BeforeEach
  void start(@TempDir Path dir) throws Exception {
    fx = new MountFixture(dir);
  }

  @AfterEach
  void stop() {
    fx.close();
  }

  private static byte[] bytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void aFilePlacedIntoTheStoreIsReadableAndItsReplacementIsReadWhole() throws Exception {
    fx.server.createBucket("raw");
    Path bucketDir = fx.dir.resolve("s3").resolve("raw");
    byte[] first = bytes(3 * 1024 * 1024 + 5, 1);
    Files.write(Files.createDirectories(bucketDir.resolve("d")).resolve("placed.bin"), first);
    assertNull(fx.s3().headObject(b -> b.bucket("raw").key("d/placed.bin")).eTag(),
        "the store sends no ETag for a file placed into it");

    BucketMount m = fx.mount("s3://raw", "raw", Map.of(SettingKey.BLOCK_SIZE, "1M",
        SettingKey.METADATA_TTL, "1s", SettingKey.METADATA_MAX_STALE, "0"));
    Path f = m.mountPoint().resolve("d/placed.bin");
    assertArrayEquals(first, Files.readAllBytes(f));

    byte[] second = bytes(2 * 1024 * 1024 + 7, 2);
    Path placed = bucketDir.resolve("d/placed.bin");
    Files.write(placed, second);
    Files.setLastModifiedTime(placed, FileTime.from(Instant.now().plusSeconds(5)));
    Thread.sleep(1_500); // metadata_ttl (1 s) for s3cache and the kernel, and a margin
    assertEquals(second.length, Files.size(f));
    assertArrayEquals(second, Files.readAllBytes(f), "the new version whole, no block of the old");
  }
}
