package io.s3cache.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class MountTableTest {

  @Test
  void parsesFuseLineWithOptionalFields() {
    String line = "97 29 0:52 / /mnt/my\\040data rw,nosuid,nodev,relatime shared:51 - fuse.s3cache s3cache:bucket rw,user_id=0";
    MountTable.Entry e = MountTable.parse(line).orElseThrow();
    assertEquals(Path.of("/mnt/my data"), e.mountPoint());
    assertEquals("fuse.s3cache", e.fsType());
    assertEquals("s3cache:bucket", e.source());
    assertEquals("0:52", e.device());
  }

  @Test
  void rejectsMalformedLine() {
    assertTrue(MountTable.parse("garbage").isEmpty());
    assertTrue(MountTable.parse("1 2 3 4 5 6 7").isEmpty());
  }

  @Test
  void rootIsMounted() {
    assertTrue(MountTable.isMounted(Path.of("/")));
  }

  @Test
  void unescapesBackslash() {
    assertEquals("a\\b", MountTable.unescape("a\\134b"));
    assertEquals("a\\x", MountTable.unescape("a\\x"));
  }
}
