package io.s3cache.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.s3cache.fuse.MountTable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class FuseFloorTest {

  @Test
  void compilesAgainstLibfuse2ByDefaultAndLibfuse3ByMacro() {
    Path src = Path.of("/w/floorfs.c");
    assertEquals(List.of("cc", "-O2", "-Wall", "-o", "/w/floorfs2", "/w/floorfs.c", "-I/usr/include/fuse",
        "-D_FILE_OFFSET_BITS=64", "-lfuse", "-pthread"), FuseFloor.compileCommand(FuseFloor.Lib.FUSE2, src,
        Path.of("/w/floorfs2"), "-I/usr/include/fuse -D_FILE_OFFSET_BITS=64 -lfuse -pthread \n"));
    assertEquals(List.of("cc", "-O2", "-Wall", "-DFLOORFS_FUSE3", "-o", "/w/floorfs3", "/w/floorfs.c",
        "-I/usr/include/fuse3", "-lfuse3", "-lpthread"), FuseFloor.compileCommand(FuseFloor.Lib.FUSE3, src,
        Path.of("/w/floorfs3"), "-I/usr/include/fuse3 -lfuse3 -lpthread"));
  }

  @Test
  void mountsReadOnlyInTheForegroundWithS3cachesPageCacheBehaviour() {
    String year = "31536000";
    assertEquals(List.of("/w/floorfs2", "/data", "/mnt", "-f", "-o", "fsname=floorfs,subtype=floorfs,ro,"
        + "default_permissions,attr_timeout=" + year + ",entry_timeout=" + year + ",negative_timeout=" + year
        + ",max_read=131072,kernel_cache"), FuseFloor.mountCommand(FuseFloor.Lib.FUSE2, Path.of("/w/floorfs2"),
        Path.of("/data"), Path.of("/mnt"), false));
    List<String> direct = FuseFloor.mountCommand(FuseFloor.Lib.FUSE3, Path.of("/w/floorfs3"), Path.of("/data"),
        Path.of("/mnt"), true);
    assertEquals(List.of("/w/floorfs3", "--direct-io", "/data", "/mnt", "-f", "-o"), direct.subList(0, 6),
        "libfuse3's high-level library has no -o direct_io: floorfs's own flag, before its arguments");
    assertFalse(direct.get(6).contains("kernel_cache"), "direct_io bypasses the page cache kernel_cache would keep");
    assertFalse(direct.get(6).contains("max_read"), "libfuse3's point is its larger requests");
    assertTrue(FuseFloor.options(FuseFloor.Lib.FUSE3, false).contains("kernel_cache"));
  }

  @Test
  void missingCompilerOrHeadersIsAReasonNamingTheInstall() {
    assertEquals("not measured (needs gcc and libfuse-dev: S3CACHE_WITH_PEERS=1 bin/install-deps)",
        FuseFloor.missing(FuseFloor.Lib.FUSE2, false, true));
    assertEquals(FuseFloor.NEEDS_FUSE2, FuseFloor.missing(FuseFloor.Lib.FUSE2, true, false));
    assertEquals("not measured (needs gcc and libfuse3-dev: S3CACHE_WITH_PEERS=1 bin/install-deps)",
        FuseFloor.missing(FuseFloor.Lib.FUSE3, false, false));
    assertNull(FuseFloor.missing(FuseFloor.Lib.FUSE3, true, true));
  }

  @Test
  void findsOnlyExecutableFilesOnThePath(@TempDir Path dir) throws Exception {
    Path bin = Files.createDirectories(dir.resolve("bin"));
    Path empty = Files.createDirectories(dir.resolve("empty"));
    Files.setPosixFilePermissions(Files.createFile(bin.resolve("cc")), PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.createFile(bin.resolve("pkg-config")); // not executable
    Files.createDirectories(bin.resolve("gcc")); // a directory, not a tool
    String path = empty + ":" + bin;
    assertTrue(FuseFloor.onPath("cc", path));
    assertFalse(FuseFloor.onPath("pkg-config", path));
    assertFalse(FuseFloor.onPath("gcc", path));
    assertFalse(FuseFloor.onPath("cc", empty.toString()));
    assertFalse(FuseFloor.onPath("cc", null));
  }

  /** Compiles floorfs.c from the jar's resource, mounts it over a small tree and reads it back. */
  @ParameterizedTest
  @CsvSource({"FUSE2, false", "FUSE3, false", "FUSE3, true"})
  void servesTheTreesBytesThroughTheMount(FuseFloor.Lib lib, boolean directIo, @TempDir Path dir) throws Exception {
    assumeTrue(Files.exists(Path.of("/dev/fuse")), "/dev/fuse is missing");
    FuseFloor.Build build = FuseFloor.build(lib, dir.resolve("build"));
    assumeTrue(build.ok(), build.reason());
    Path tree = Files.createDirectories(dir.resolve("tree"));
    byte[] big = new byte[3 * (1 << 20) + 12345]; // several 128 KiB requests and a partial last one
    new Random(1).nextBytes(big);
    Files.write(tree.resolve("big.bin"), big);
    Files.createDirectories(tree.resolve("small/d00"));
    Files.writeString(tree.resolve("small/d00/f00000.jpg"), "small file");
    Files.createFile(tree.resolve("empty"));
    Path mnt;
    try (PeerMount m = FuseFloor.mount(build, tree, dir, directIo)) {
      mnt = m.mountPoint();
      assertTrue(MountTable.isMounted(mnt));
      assertEquals(big.length, Files.size(mnt.resolve("big.bin")));
      assertArrayEquals(big, Files.readAllBytes(mnt.resolve("big.bin")));
      assertEquals("small file", Files.readString(mnt.resolve("small/d00/f00000.jpg")));
      assertEquals(0, Files.readAllBytes(mnt.resolve("empty")).length);
      try (Stream<Path> top = Files.list(mnt)) {
        assertEquals(List.of("big.bin", "empty", "small"), top.map(p -> p.getFileName().toString()).sorted().toList());
      }
      assertFalse(Files.exists(mnt.resolve("missing")));
      assertThrows(java.io.IOException.class, () -> Files.writeString(mnt.resolve("new"), "x"), "read-only");
    }
    assertFalse(MountTable.isMounted(mnt), "closing the mount unmounts it");
  }
}
