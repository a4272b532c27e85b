package io.s3cache.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.s3cache.config.SettingKey;
import io.s3cache.mount.BucketMount;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code metadata_ttl=indefinite} on a real mount: nothing changes until {@code refresh}, and after
 * it the kernel's cached entries, attributes and negative entries are gone too (so new, replaced
 * and deleted objects show at once, with their real sizes).
 */
@Timeout(180)
class RefreshMountTest {

  @TempDir Path dir;
  private MountFixture fixture;
  private BucketMount mount;
  private Path root;

  @BeforeEach
  void mount() throws Exception {
    fixture = new MountFixture(dir);
    fixture.s3().createBucket(b -> b.bucket("data"));
    fixture.put("data", "train/a.bin", bytes("version one of a", 1));
    fixture.put("data", "train/gone.bin", bytes("deleted later", 1));
    fixture.put("data", "top.txt", bytes("top v1", 1));
    mount = fixture.mount("s3://data", "refresh", Map.of(SettingKey.METADATA_TTL, "indefinite"));
    root = mount.mountPoint();
  }

  @AfterEach
  void close() {
    if (fixture != null) {
      fixture.close();
    }
  }

  private static byte[] bytes(String text, int repeat) {
    return text.repeat(repeat).getBytes(StandardCharsets.UTF_8);
  }

  private static List<String> ls(Path d) throws Exception {
    try (Stream<Path> s = Files.list(d)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void changesShowOnlyAfterRefreshAndThenAtOnceInTheKernelToo() throws Exception {
    Path train = root.resolve("train");
    assertEquals(List.of("a.bin", "gone.bin"), ls(train));
    assertArrayEquals(bytes("version one of a", 1), Files.readAllBytes(train.resolve("a.bin")));
    assertFalse(Files.exists(train.resolve("new.bin")), "looked up now: a negative entry is cached");
    assertEquals(6, Files.size(root.resolve("top.txt")));

    byte[] a2 = bytes("version two of a, longer", 3);
    fixture.put("data", "train/a.bin", a2);
    fixture.put("data", "train/new.bin", bytes("new", 1));
    fixture.s3().deleteObject(b -> b.bucket("data").key("train/gone.bin"));
    fixture.put("data", "top.txt", bytes("top version 2", 1));

    // Indefinite: the mount keeps what it saw, in every cache.
    assertEquals(List.of("a.bin", "gone.bin"), ls(train));
    assertFalse(Files.exists(train.resolve("new.bin")));
    assertEquals(16, Files.size(train.resolve("a.bin")));

    BucketMount.Refreshed r = mount.refresh("/train");
    assertTrue(r.kernelNotified(), "the kernel was told");
    assertTrue(r.dropped() > 0);
    assertEquals(List.of("a.bin", "new.bin"), ls(train));
    assertTrue(Files.exists(train.resolve("new.bin")), "the kernel's negative entry is gone");
    assertEquals(a2.length, Files.size(train.resolve("a.bin")), "the kernel's attributes are gone");
    assertArrayEquals(a2, Files.readAllBytes(train.resolve("a.bin")), "whole new version, no mix");
    assertFalse(Files.exists(train.resolve("gone.bin")));
    assertEquals(6, Files.size(root.resolve("top.txt")), "outside the refreshed path: unchanged");

    assertTrue(mount.refresh("/").kernelNotified());
    assertEquals(13, Files.size(root.resolve("top.txt")));
    assertArrayEquals(bytes("top version 2", 1), Files.readAllBytes(root.resolve("top.txt")));
  }

  @Test
  void refreshOfTheRootShowsANewTopLevelName() throws Exception {
    assertFalse(Files.exists(root.resolve("later.txt")));
    assertEquals(List.of("top.txt", "train"), ls(root));
    fixture.put("data", "later.txt", bytes("later", 1));
    assertFalse(Files.exists(root.resolve("later.txt")));
    mount.refresh("/");
    assertEquals(List.of("later.txt", "top.txt", "train"), ls(root));
    assertArrayEquals(bytes("later", 1), Files.readAllBytes(root.resolve("later.txt")));
  }
}
