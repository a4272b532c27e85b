package io.s3cache.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.s3cache.control.ControlClient;
import io.s3cache.control.MountInfo;
import io.s3cache.fuse.MountTable;
import io.s3cache.testing.data.SampleDataset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The .deb as an operator uses it: apt-get install, mount -t s3cache (through /sbin/mount.s3cache,
 * which starts the daemon), fstab lines mounted by mount -a and by mount point, reads checked byte
 * for byte, permissions as another user sees them, umount, no secret in argv, logs or /metrics,
 * and apt-get purge leaving no daemon, no mount and no file.
 *
 * <p>Assumptions: root, dpkg and apt-get, /dev/fuse, and a .deb built by {@code mvn package}
 * (dist/target). The daemon uses the default control socket /run/s3cache/s3cache.sock, so the test
 * refuses to run while another daemon answers there. The fstab is a temporary file
 * ({@code mount -T}); /etc/fstab is not touched.
 */
class DebPackageTest {

  private static final Path SOCKET = Path.of("/run/s3cache/s3cache.sock");
  private static final Path HOST_CONFIG = Path.of("/etc/s3cache/s3cache.conf");
  private static final List<Path> INSTALLED = List.of(Path.of("/usr/bin/s3cache"), Path.of("/sbin/mount.s3cache"),
      Path.of("/usr/share/s3cache"), Path.of("/lib/systemd/system/s3cache.service"), HOST_CONFIG,
      Path.of("/usr/share/doc/s3cache"));

  @TempDir Path dir;

  @Test
  void installMountThroughFstabUnmountAndPurge() throws Exception {
    assumeTrue(Host.isRoot(), "needs root: installs a package and mounts");
    assumeTrue(Host.has("dpkg") && Host.has("apt-get"), "needs dpkg and apt-get (a Debian-like host)");
    assumeTrue(Files.exists(Path.of("/dev/fuse")), "needs /dev/fuse");
    Path deb = builtDeb();
    assumeTrue(deb != null, "no s3cache_*.deb in dist/target: build with mvn package first");
    assumeTrue(!ControlClient.isAlive(SOCKET), "another s3cache daemon answers on " + SOCKET + ": not ours to use");
    if (installed()) {
      // Left by an aborted run of this test: start from a clean host.
      Host.run(Map.of("DEBIAN_FRONTEND", "noninteractive"), 300, List.of("apt-get", "purge", "-y", "s3cache"));
    }

    // Other users (nobody, below) must be able to reach the mount points: JUnit makes dir 0700.
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
    MountFixture fx = new MountFixture(dir);
    byte[] big = SampleDataset.content(3 * 1024 * 1024 + 17, 1);
    byte[] small = "small file\n".getBytes(StandardCharsets.UTF_8);
    fx.server.createBucket("pkg");
    fx.put("pkg", "data/big.bin", big);
    fx.put("pkg", "data/sub/small.txt", small);
    String secret = fx.server.secretKey();
    Map<String, String> env = new HashMap<>();
    env.put("AWS_ACCESS_KEY_ID", fx.server.accessKey());
    env.put("AWS_SECRET_ACCESS_KEY", secret);
    env.put("AWS_EC2_METADATA_DISABLED", "true");
    env.put("DEBIAN_FRONTEND", "noninteractive");
    Path cache = dir.resolve("cache");
    Path mnt = Files.createDirectories(dir.resolve("mnt"));
    Path fstabMnt = Files.createDirectories(dir.resolve("mnt-fstab"));
    Path noautoMnt = Files.createDirectories(dir.resolve("mnt-noauto"));
    List<Path> ours = List.of(mnt, fstabMnt, noautoMnt);
    long daemonPid = -1;
    try {
      long start = System.nanoTime();
      Host.Result install = Host.run(env, 600, List.of("apt-get", "install", "-y", "-o", "DPkg::Lock::Timeout=120",
          deb.toAbsolutePath().toString()));
      assertEquals(0, install.exit(), install.toString());
      System.out.printf("apt-get install of %s took %.1f s%n", deb.getFileName(), (System.nanoTime() - start) / 1e9);
      for (Path p : INSTALLED) {
        assertTrue(Files.exists(p), p + " installed");
      }
      assertTrue(Host.run("dpkg-query", "-W", "-f=${Conffiles}", "s3cache").out().contains(HOST_CONFIG.toString()),
          "the config is a conffile");
      try (Stream<Path> jars = Files.list(Path.of("/usr/share/s3cache/lib"))) {
        assertTrue(jars.anyMatch(j -> j.getFileName().toString().startsWith("s3cache-daemon-")));
      }
      Host.Result verify = Host.run("systemd-analyze", "verify", "/lib/systemd/system/s3cache.service");
      assertEquals(0, verify.exit(), verify.toString());
      assertEquals("", (verify.out() + verify.err()).strip(), "systemd-analyze verify has no complaint");

      // Option errors name the option; nothing is mounted, no daemon is started.
      Host.Result unknown = Host.run(env, 120, List.of("mount", "-t", "s3cache", "s3://pkg/data", mnt.toString(),
          "-o", "colour=blue"));
      assertNotEquals(0, unknown.exit());
      assertEquals("s3cache: unknown mount option 'colour=blue'", unknown.errLine());
      Host.Result badValue = Host.run(env, 120, List.of("mount", "-t", "s3cache", "s3://pkg/data", mnt.toString(),
          "-o", "ram_cache=lots"));
      assertNotEquals(0, badValue.exit());
      assertTrue(badValue.errLine().startsWith("s3cache: invalid size 'lots' for ram_cache"), badValue.toString());
      Host.Result fake = Host.run(env, 120, List.of("mount", "-f", "-t", "s3cache", "s3://pkg/data", mnt.toString(),
          "-o", "endpoint=" + fx.server.endpoint() + ",path_style"));
      assertEquals(0, fake.exit(), fake.toString());
      assertFalse(MountTable.isMounted(mnt), "mount -f mounts nothing");
      assertFalse(ControlClient.isAlive(SOCKET), "bad options start no daemon");

      // mount -t s3cache with the options users and mount(8) pass; it starts the daemon.
      String options = String.join(",", "endpoint=" + fx.server.endpoint(), "path_style", "cache_dir=" + cache,
          "ram_cache=64M", "disk_cache=256M", "block_size=1M", "log_level=debug:software.amazon.awssdk.request=debug", "ro", "allow_other", "uid=1234",
          "gid=2345", "umask=022", "_netdev", "noatime", "nosuid", "nodev", "x-systemd.automount", "comment=x");
      Host.Result mounted = Host.run(env, 300, List.of("mount", "-t", "s3cache", "s3://pkg/data", mnt.toString(),
          "-o", options));
      assertEquals(0, mounted.exit(), mounted.toString());
      MountTable.Entry entry = MountTable.find(mnt).orElseThrow(() -> new AssertionError("mounted"));
      assertEquals("fuse.s3cache", entry.fsType());
      assertEquals("s3://pkg/data", entry.source());
      assertArrayEquals(big, Files.readAllBytes(mnt.resolve("big.bin")));
      assertArrayEquals(small, Files.readAllBytes(mnt.resolve("sub/small.txt")));
      assertEquals(1234, Files.getAttribute(mnt.resolve("big.bin"), "unix:uid", LinkOption.NOFOLLOW_LINKS));
      assertEquals(2345, Files.getAttribute(mnt.resolve("big.bin"), "unix:gid", LinkOption.NOFOLLOW_LINKS));
      assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(mnt.resolve("big.bin"))));
      assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(mnt.resolve("sub"))));
      assertEquals("small file\n", asNobody("cat", mnt.resolve("sub/small.txt").toString()).out(),
          "allow_other with umask=022: other users read");
      try (ControlClient c = ControlClient.connect(SOCKET)) {
        daemonPid = c.health().pid();
      }

      // fstab: mount -a mounts the _netdev line (endpoint from the host config file), skips noauto.
      Files.writeString(HOST_CONFIG, Files.readString(HOST_CONFIG)
          + "\nendpoint = " + fx.server.endpoint() + "\npath_style = true\n");
      Path fstab = dir.resolve("fstab");
      Files.writeString(fstab, "# test fstab\n"
          + "s3://pkg/data " + fstabMnt + " s3cache _netdev,defaults,nofail,x-systemd.requires=s3cache.service,"
          + "x-systemd.mount-timeout=2min 0 0\n"
          + "s3://pkg/data/sub " + noautoMnt + " s3cache noauto,allow_other,umask=077 0 0\n");
      Host.Result all = Host.run(env, 300, List.of("mount", "-a", "-T", fstab.toString()));
      assertEquals(0, all.exit(), all.toString());
      assertTrue(MountTable.isMounted(fstabMnt), "mount -a mounted the fstab line");
      assertFalse(MountTable.isMounted(noautoMnt), "mount -a skips noauto");
      assertArrayEquals(big, Files.readAllBytes(fstabMnt.resolve("big.bin")));
      Host.Result again = Host.run(env, 300, List.of("mount", "-a", "-T", fstab.toString()));
      assertEquals(0, again.exit(), "mount -a again sees the line mounted: " + again);
      assertEquals(1, MountTable.read().stream().filter(e -> e.mountPoint().equals(fstabMnt)).count());
      Host.Result denied = asNobody("ls", fstabMnt.toString());
      assertNotEquals(0, denied.exit(), "without allow_other other users cannot enter the mount");
      assertTrue(denied.err().contains("Permission denied"), denied.toString());

      Host.Result byPoint = Host.run(env, 300, List.of("mount", "-T", fstab.toString(), noautoMnt.toString()));
      assertEquals(0, byPoint.exit(), byPoint.toString());
      assertArrayEquals(small, Files.readAllBytes(noautoMnt.resolve("small.txt")));
      Host.Result bits = asNobody("cat", noautoMnt.resolve("small.txt").toString());
      assertNotEquals(0, bits.exit(), "umask=077 with default_permissions: the kernel refuses other users");
      assertTrue(bits.err().contains("Permission denied"), bits.toString());
      try (ControlClient c = ControlClient.connect(SOCKET)) {
        assertEquals(daemonPid, c.health().pid(), "one daemon serves all three mounts");
        assertEquals(3, c.mounts().size());
      }

      // No secret in any process's argv, the daemon's logs or /metrics.
      assertNoSecretInCmdlines(secret);
      Path logs = cache.resolve("logs");
      String log = Files.readString(logs.resolve("s3cache.log"));
      assertTrue(log.contains("DEBUG") && log.contains("mount request: s3://pkg/data at " + mnt), "log_level=debug: " + log);
      assertTrue(log.contains("software.amazon.awssdk.request"), "a third-party logger named in log_level logs at debug");
      assertTrue(log.contains("mounted s3://pkg/data/ at " + mnt), log);
      try (Stream<Path> files = Files.list(logs)) {
        for (Path f : files.toList()) {
          assertFalse(Files.readString(f).contains(secret), "secret in " + f);
        }
      }
      try (ControlClient c = ControlClient.connect(SOCKET)) {
        String metrics = c.metricsText();
        assertTrue(metrics.contains("s3_requests_get"), "metrics answered");
        assertFalse(metrics.contains(secret), "secret in /metrics");
      }
      Host.Result stats = Host.run(env, 120, List.of("s3cache", "stats", "--json"));
      assertEquals(0, stats.exit(), stats.toString());
      assertFalse(stats.out().contains(secret), "secret in stats");

      // umount: the kernel unmounts; the daemon sees its FUSE loop end and forgets the mount.
      for (Path mp : ours) {
        Host.Result u = Host.run("umount", mp.toString());
        assertEquals(0, u.exit(), u.toString());
        assertFalse(MountTable.isMounted(mp));
      }
      awaitNoMounts();
      assertTrue(ProcessHandle.of(daemonPid).map(ProcessHandle::isAlive).orElse(false), "the daemon outlives umount");

      Host.Result purge = Host.run(env, 300, List.of("apt-get", "purge", "-y", "-o", "DPkg::Lock::Timeout=120",
          "s3cache"));
      assertEquals(0, purge.exit(), purge.toString());
      assertFalse(installed(), "purged");
      long pid = daemonPid;
      assertTrue(ProcessHandle.of(pid).map(h -> h.onExit().orTimeout(30, TimeUnit.SECONDS).join()).isEmpty()
          || !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "purge stopped the daemon");
      for (Path p : INSTALLED) {
        assertFalse(Files.exists(p), p + " removed");
      }
      assertFalse(Files.exists(Path.of("/etc/s3cache")), "/etc/s3cache removed");
      assertFalse(Files.exists(SOCKET), "socket removed");
    } finally {
      for (Path mp : ours) {
        if (MountTable.isMounted(mp)) {
          Host.run("umount", "-l", mp.toString());
        }
      }
      if (daemonPid > 0) {
        ProcessHandle.of(daemonPid).ifPresent(ProcessHandle::destroyForcibly);
      }
      if (installed()) {
        Host.run(Map.of("DEBIAN_FRONTEND", "noninteractive"), 300, List.of("apt-get", "purge", "-y", "s3cache"));
      }
      fx.close();
    }
  }

  private static Path builtDeb() throws Exception {
    Path target = Path.of("..", "dist", "target");
    if (!Files.isDirectory(target)) {
      return null;
    }
    try (Stream<Path> files = Files.list(target)) {
      return files.filter(f -> f.getFileName().toString().matches("s3cache_.*\\.deb")).findFirst().orElse(null);
    }
  }

  private static boolean installed() throws Exception {
    Host.Result r = Host.run("dpkg-query", "-W", "-f=${Status}", "s3cache");
    return r.exit() == 0 && !r.out().contains("not-installed");
  }

  /** Runs a command as nobody (uid and gid 65534, no supplementary groups). */
  private static Host.Result asNobody(String... command) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"));
    cmd.addAll(List.of(command));
    return Host.run(Map.of(), 60, cmd);
  }

  private static void assertNoSecretInCmdlines(String secret) throws Exception {
    byte[] needle = secret.getBytes(StandardCharsets.UTF_8);
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path p : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
        byte[] cmdline;
        try {
          cmdline = Files.readAllBytes(p.resolve("cmdline"));
        } catch (java.io.IOException e) {
          continue; // the process ended
        }
        assertFalse(new String(cmdline, StandardCharsets.ISO_8859_1).contains(new String(needle, StandardCharsets.ISO_8859_1)),
            "secret in the argv of pid " + p.getFileName() + ": " + new String(cmdline, StandardCharsets.UTF_8).replace('\0', ' '));
      }
    }
  }

  /** umount returns before the daemon's FUSE loop has ended: wait (bounded) for it to drop the mounts. */
  private static void awaitNoMounts() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    List<MountInfo> left;
    do {
      try (ControlClient c = ControlClient.connect(SOCKET)) {
        left = c.mounts();
      }
    } while (!left.isEmpty() && System.nanoTime() < deadline);
    assertEquals(List.of(), left, "the daemon dropped every mount that umount took away");
  }
}
