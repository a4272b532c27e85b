package io.s3cache.bench;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The FUSE floor: {@code floorfs.c} (shipped in this jar), compiled at run time against libfuse2 or
 * libfuse3 and mounted over the benchmark's local copy of the data set, which it serves from
 * memory. Read through it the same way as s3cache, it shows what FUSE itself leaves of local disk.
 */
final class FuseFloor {

  /** Why every floor figure is missing when libfuse2's build tools are. */
  static final String NEEDS_FUSE2 = "not measured (needs gcc and libfuse-dev: S3CACHE_WITH_PEERS=1 bin/install-deps)";
  static final String NEEDS_FUSE3 = "not measured (needs gcc and libfuse3-dev: S3CACHE_WITH_PEERS=1 bin/install-deps)";

  /** A libfuse to build against: its pkg-config name, the macro that selects it and its unmount tool. */
  enum Lib {
    FUSE2("fuse", null, "fusermount", "libfuse2"),
    FUSE3("fuse3", "-DFLOORFS_FUSE3", "fusermount3", "libfuse3");

    final String pkg;
    final String define;
    final String fusermount;
    final String label;

    Lib(String pkg, String define, String fusermount, String label) {
      this.pkg = pkg;
      this.define = define;
      this.fusermount = fusermount;
      this.label = label;
    }

    String missing() {
      return this == FUSE2 ? NEEDS_FUSE2 : NEEDS_FUSE3;
    }
  }

  /** A compiled floorfs, or why there is none ({@code binary} null). */
  record Build(Lib lib, Path binary, String reason) {
    boolean ok() {
      return binary != null;
    }
  }

  private FuseFloor() {}

  /**
   * Mount options of the floor, those of s3cache's read-only mount that bear on reads (MountSpec:
   * {@code ro}, {@code default_permissions}, a year's attribute/entry timeouts as with
   * {@code metadata_ttl=indefinite}, 128 KiB reads on libfuse2), plus {@code kernel_cache}: s3cache
   * opens an unchanged object with keep_cache, so its pages survive a re-open, and so do these.
   * With {@code directIo} (a note, on libfuse3) floorfs's {@code --direct-io} bypasses the page cache
   * instead, so there is none to keep.
   */
  static List<String> options(Lib lib, boolean directIo) {
    String ttl = Long.toString(365L * 24 * 3600);
    List<String> o = new ArrayList<>(List.of("fsname=floorfs", "subtype=floorfs", "ro", "default_permissions",
        "attr_timeout=" + ttl, "entry_timeout=" + ttl, "negative_timeout=" + ttl));
    if (lib == Lib.FUSE2) {
      o.add("max_read=131072");
    }
    if (!directIo) {
      o.add("kernel_cache");
    }
    return o;
  }

  /** {@code cc -O2 -Wall [-DFLOORFS_FUSE3] -o BINARY SOURCE $(pkg-config --cflags --libs PKG)}. */
  static List<String> compileCommand(Lib lib, Path source, Path binary, String pkgConfigFlags) {
    List<String> cmd = new ArrayList<>(List.of("cc", "-O2", "-Wall"));
    if (lib.define != null) {
      cmd.add(lib.define);
    }
    cmd.addAll(List.of("-o", binary.toString(), source.toString()));
    cmd.addAll(Arrays.stream(pkgConfigFlags.strip().split("\\s+")).filter(s -> !s.isEmpty()).toList());
    return cmd;
  }

  /**
   * {@code BINARY [--direct-io] SRCDIR MNT -f -o OPTIONS}: in the foreground, so the process lives as
   * long as the mount.
   */
  static List<String> mountCommand(Lib lib, Path binary, Path source, Path mnt, boolean directIo) {
    List<String> cmd = new ArrayList<>(List.of(binary.toString()));
    if (directIo) {
      cmd.add("--direct-io");
    }
    cmd.addAll(List.of(source.toString(), mnt.toString(), "-f", "-o", String.join(",", options(lib, directIo))));
    return cmd;
  }

  /** The reason there is no floor for {@code lib}, or null when it can be built. */
  static String missing(Lib lib, boolean compiler, boolean headers) {
    return compiler && headers ? null : lib.missing();
  }

  /** Whether an executable {@code tool} is in one of the directories of {@code path} (a PATH value). */
  static boolean onPath(String tool, String path) {
    if (path == null) {
      return false;
    }
    for (String dir : path.split(File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool)) && !Files.isDirectory(Path.of(dir, tool))) {
        return true;
      }
    }
    return false;
  }

  /**
   * Writes the shipped {@code floorfs.c} into {@code dir} and compiles it there against {@code lib}
   * (binary {@code floorfs2} / {@code floorfs3}); a failure to compile is a reason, not an exception,
   * so the benchmark goes on without the floor.
   */
  static Build build(Lib lib, Path dir) throws IOException {
    String path = System.getenv("PATH");
    Commands.Ran pkg = onPath("pkg-config", path) ? Commands.run(List.of("pkg-config", "--cflags", "--libs", lib.pkg)) : null;
    String reason = missing(lib, onPath("cc", path), pkg != null && pkg.status() == 0);
    if (reason != null) {
      return new Build(lib, null, reason);
    }
    Files.createDirectories(dir);
    Path source = dir.resolve("floorfs.c");
    try (InputStream in = FuseFloor.class.getResourceAsStream("floorfs.c")) {
      if (in == null) {
        throw new IOException("floorfs.c is not in the bench jar (rebuild with mvn -DskipTests package)");
      }
      Files.write(source, in.readAllBytes());
    }
    Path binary = dir.resolve(lib == Lib.FUSE2 ? "floorfs2" : "floorfs3");
    Commands.Ran cc = Commands.run(compileCommand(lib, source, binary, pkg.output()));
    if (cc.status() != 0) {
      String first = cc.output().strip().lines().findFirst().orElse("");
      return new Build(lib, null, "not measured (floorfs.c did not compile against " + lib.label + ": " + first + ")");
    }
    return new Build(lib, binary, null);
  }

  /**
   * Mounts {@code build}'s floorfs over {@code source} at {@code dir/floorfs-mnt}, waiting (up to
   * 2 minutes: it reads the whole tree into memory first) for the mount table to show it; closing
   * the mount unmounts it with the library's fusermount.
   */
  static PeerMount mount(Build build, Path source, Path dir, boolean directIo) throws Exception {
    Path mnt = Files.createDirectories(dir.resolve("floorfs-mnt"));
    return PeerMount.start(mountCommand(build.lib(), build.binary(), source, mnt, directIo), mnt,
        dir.resolve("floorfs-" + build.lib().label + (directIo ? "-direct_io" : "") + ".log"), build.lib().fusermount,
        TimeUnit.MINUTES.toNanos(2));
  }
}
