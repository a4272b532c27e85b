package io.s3cache.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.s3cache.control.ControlClient;
import io.s3cache.fuse.MountTable;
import java.io.File;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 15 items 1-4 and 8, as a second local user on the same box would probe them: a daemon
 * started by bin/s3cache over a real S3 server and real mounts, and a user created for the test
 * (removed after) trying to read its files and drive its listeners.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SecurityTest {

  private static final Path S3CACHE = Path.of("..", "bin", "s3cache").toAbsolutePath().normalize();
  private static final String OTHER = "s3cachesec";
  private static final Set<PosixFilePermission> GROUP_OR_OTHER = EnumSet.of(PosixFilePermission.GROUP_READ,
      PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_READ,
      PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

  private Path dir;
  private MountFixture fx;
  private final List<Path> mountPoints = new ArrayList<>();
  private final List<Path> sockets = new ArrayList<>();

  @BeforeAll
  void start(@TempDir Path tempDir) throws Exception {
    assumeTrue(Host.isRoot() && Host.has("useradd") && Host.has("runuser") && Host.has("curl"),
        "needs root, useradd, runuser and curl");
    dir = tempDir;
    // Open the test's directory to everyone, so only the daemon's own modes stand in the way.
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Host.run("userdel", OTHER);
    Host.Result added = Host.run("useradd", "-M", "-s", "/bin/sh", OTHER);
    assertEquals(0, added.exit(), added.toString());
    fx = new MountFixture(dir);
    fx.server.createBucket("sec");
    fx.put("sec", "data/secret.txt", "cached secret bytes\n".getBytes(StandardCharsets.UTF_8));
  }

  @AfterAll
  void stop() throws Exception {
    if (fx == null) {
      return;
    }
    try {
      Host.stopDaemons(sockets, mountPoints);
    } finally {
      fx.close();
      Host.run("userdel", OTHER);
    }
  }

  /** bin/s3cache as root, with the S3 server's keys in the environment unless {@code env} blanks them. */
  private Host.Result s3cache(Map<String, String> env, String... args) throws Exception {
    Map<String, String> all = new HashMap<>(Map.of("AWS_ACCESS_KEY_ID", fx.server.accessKey(),
        "AWS_SECRET_ACCESS_KEY", fx.server.secretKey(), "AWS_EC2_METADATA_DISABLED", "true"));
    all.putAll(env);
    List<String> cmd = new ArrayList<>(List.of(S3CACHE.toString()));
    cmd.addAll(List.of(args));
    return Host.run(all, 120, cmd);
  }

  private static Host.Result asOther(String... command) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("runuser", "-u", OTHER, "--"));
    cmd.addAll(List.of(command));
    return Host.run(Map.of(), 60, cmd);
  }

  /** Mounts s3://sec through a daemon that this mount starts on {@code name}.sock. */
  private Path mountThroughNewDaemon(String name, String... extra) throws Exception {
    Path mp = Files.createDirectories(dir.resolve("mnt-" + name));
    Path sock = dir.resolve(name + ".sock");
    sockets.add(sock);
    mountPoints.add(mp);
    List<String> args = new ArrayList<>(List.of("mount", "s3://sec", mp.toString(), "--endpoint",
        fx.server.endpoint().toString(), "--path-style", "--socket", sock.toString(), "--cache-dir",
        dir.resolve("cache-" + name).toString(), "--ram-cache", "64M", "--disk-cache", "256M"));
    args.addAll(List.of(extra));
    Host.Result r = s3cache(Map.of(), args.toArray(String[]::new));
    assertEquals(0, r.exit(), r.toString());
    return mp;
  }

  private static long daemonPid(Path sock) throws Exception {
    try (ControlClient c = ControlClient.connect(sock)) {
      return c.health().pid();
    }
  }

  @Test
  void anotherUserCannotReadCachedStagedOrLoggedBytes() throws Exception {
    Path mp = mountThroughNewDaemon("files", "-o", "rw");
    assertEquals("cached secret bytes\n", Files.readString(mp.resolve("data/secret.txt")));
    Path staged = mp.resolve("data/new.bin");
    Files.writeString(staged, "staged secret");
    Path cache = dir.resolve("cache-files");
    List<Path> files;
    try (Stream<Path> walk = Files.walk(cache)) {
      files = walk.toList();
    }
    List<String> open = new ArrayList<>();
    for (Path p : files) {
      Set<PosixFilePermission> perms;
      try {
        perms = Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
      } catch (java.nio.file.NoSuchFileException gone) {
        continue; // the daemon removed it meanwhile (a staged file after its upload and cache fill)
      }
      perms.retainAll(GROUP_OR_OTHER);
      if (!perms.isEmpty()) {
        open.add(cache.relativize(p) + " " + PosixFilePermissions.toString(perms));
      }
    }
    assertEquals(List.of(), open, "entries others can use");
    assertTrue(files.stream().anyMatch(p -> p.toString().contains("/blocks/") && Files.isRegularFile(p)),
        "a block was cached: " + files);
    assertTrue(Files.isDirectory(cache.resolve("staging")));
    for (Path p : files.stream().filter(Files::isRegularFile).toList()) {
      Host.Result cat = asOther("cat", p.toString());
      assertNotEquals(0, cat.exit(), OTHER + " read " + p);
    }
    Host.Result ls = asOther("ls", cache.resolve("staging").toString());
    assertNotEquals(0, ls.exit(), ls.toString());
    assertEquals(0, s3cache(Map.of(), "unmount", mp.toString(), "--socket", dir.resolve("files.sock").toString()).exit());
  }

  @Test
  void looseModesOfAnExistingCacheDirAreTightenedWithOneWarning() throws Exception {
    Path cache = Files.createDirectories(dir.resolve("cache-loose/blocks"));
    Files.setPosixFilePermissions(cache, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.setPosixFilePermissions(cache.getParent(), PosixFilePermissions.fromString("rwxrwxr-x"));
    Path mp = mountThroughNewDaemon("loose");
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(cache.getParent())));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(cache)));
    String log = Files.readString(cache.getParent().resolve("logs/s3cache.log"));
    assertEquals(1, log.lines().filter(l -> l.contains("WARN") && l.contains("made") && l.contains("owner-only")).count(),
        log);
    assertEquals(0, s3cache(Map.of(), "unmount", mp.toString(), "--socket", dir.resolve("loose.sock").toString()).exit());
  }

  @Test
  void autoStartedDaemonHoldsNoAwsSecretAndAMountWithoutCredentialsGetsNoOtherMountsKeys() throws Exception {
    Path mp = mountThroughNewDaemon("env");
    Path sock = dir.resolve("env.sock");
    String environ = Files.readString(Path.of("/proc", Long.toString(daemonPid(sock)), "environ"),
        StandardCharsets.ISO_8859_1);
    assertFalse(environ.contains(fx.server.secretKey()), "the daemon's environment holds the secret");
    assertFalse(environ.contains("AWS_SECRET_ACCESS_KEY="), environ.replace('\0', ' '));
    assertFalse(environ.contains("AWS_ACCESS_KEY_ID="), environ.replace('\0', ' '));

    Path second = Files.createDirectories(dir.resolve("mnt-env2"));
    mountPoints.add(second);
    Host.Result none = s3cache(Map.of("AWS_ACCESS_KEY_ID", "", "AWS_SECRET_ACCESS_KEY", ""), "mount", "s3://sec",
        second.toString(), "--endpoint", fx.server.endpoint().toString(), "--path-style", "--socket", sock.toString(),
        "--cache-dir", dir.resolve("cache-env").toString(), "--ram-cache", "64M", "--disk-cache", "256M");
    assertEquals(1, none.exit(), none.toString());
    assertEquals(1, none.err().strip().lines().count(), none.err());
    assertTrue(none.errLine().startsWith("s3cache: no AWS credentials for s3://sec"), none.errLine());
    assertFalse(MountTable.isMounted(second));
    assertEquals(0, s3cache(Map.of(), "unmount", mp.toString(), "--socket", sock.toString()).exit());
  }

  @Test
  void aFailedMountStopsTheDaemonItStartedAndTheRetryWorks() throws Exception {
    Path sock = dir.resolve("fail.sock");
    sockets.add(sock);
    Path mp = Files.createDirectories(dir.resolve("mnt-fail"));
    mountPoints.add(mp);
    Host.Result failed = s3cache(Map.of(), "mount", "s3://no-such-bucket", mp.toString(), "--endpoint",
        fx.server.endpoint().toString(), "--path-style", "--socket", sock.toString(), "--cache-dir",
        dir.resolve("cache-fail").toString(), "--disk-cache", "256M");
    assertEquals(1, failed.exit(), failed.toString());
    assertFalse(ControlClient.isAlive(sock), "a daemon still answers on " + sock);
    assertEquals(List.of(), daemonsOn(sock));
    Host.Result retry = s3cache(Map.of(), "mount", "s3://sec", mp.toString(), "--endpoint",
        fx.server.endpoint().toString(), "--path-style", "--socket", sock.toString(), "--cache-dir",
        dir.resolve("cache-fail").toString(), "--disk-cache", "128M");
    assertEquals(0, retry.exit(), retry.toString());
    assertEquals(0, s3cache(Map.of(), "unmount", mp.toString(), "--socket", sock.toString()).exit());
  }

  private static List<Long> daemonsOn(Path sock) throws Exception {
    List<Long> pids = new ArrayList<>();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path p : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
        try {
          String cmdline = Files.readString(p.resolve("cmdline"), StandardCharsets.ISO_8859_1).replace('\0', ' ');
          if (cmdline.contains(" daemon ") && cmdline.contains(sock.toString())) {
            pids.add(Long.parseLong(p.getFileName().toString()));
          }
        } catch (java.io.IOException e) {
          // gone meanwhile
        }
      }
    }
    return pids;
  }

  @Test
  void tcpListenerNeedsTheTokenAndMetricsListenerIsReadOnly() throws Exception {
    int controlPort = freePort();
    int metricsPort = freePort();
    Path token = dir.resolve("token");
    Files.writeString(token, "s3cache-test-token-0123456789\n");
    Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-------"));
    Path noToken = dir.resolve("no-token.sock");
    sockets.add(noToken);
    Host.Result refused = s3cache(Map.of(), "daemon", "--socket", noToken.toString(), "-o",
        "control_tcp=127.0.0.1:" + controlPort, "-o", "cache_dir=" + dir.resolve("cache-tcp0"));
    assertEquals(2, refused.exit(), refused.toString());
    assertTrue(refused.errLine().startsWith("s3cache: control_tcp needs control_token_file"), refused.errLine());

    try (DaemonProcess d = DaemonProcess.start(dir, fx.server, Map.of("cache_dir", dir.resolve("cache-tcp").toString(),
        "control_tcp", "127.0.0.1:" + controlPort, "control_token_file", token.toString(),
        "metrics_listen", Integer.toString(metricsPort), "ram_cache", "64M", "disk_cache", "256M"), "")) {
      String control = "http://127.0.0.1:" + controlPort;
      String metrics = "http://127.0.0.1:" + metricsPort;
      // Another user, without the token: nothing.
      assertEquals("401", asOther("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", control + "/health").out());
      Path root = Files.createDirectories(dir.resolve("mnt-tcp"));
      mountPoints.add(root);
      String mountBody = "{\"source\":\"s3://sec\",\"mountPoint\":\"" + root + "\",\"settings\":{\"endpoint\":\""
          + fx.server.endpoint() + "\",\"path_style\":\"true\",\"allow_other\":\"true\"}}";
      assertEquals("401", asOther("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
          "Content-Type: application/json", "-H", "Authorization: Bearer guessed-token-0123456789", "--data",
          mountBody, control + "/mounts").out());
      // ... nor with the CLI and a token file of its own.
      Path guessed = dir.resolve("guessed");
      Files.writeString(guessed, "guessed-token-0123456789");
      Files.setPosixFilePermissions(guessed, PosixFilePermissions.fromString("rw-r--r--"));
      Host.Result cli = asOther(S3CACHE.toString(), "stats", "--control-url", control, "--token-file", guessed.toString());
      assertEquals(1, cli.exit(), cli.toString());
      assertTrue(cli.errLine().contains("Authorization: Bearer"), cli.errLine());
      assertFalse(MountTable.isMounted(root));
      // A browser-like request (Origin, text/plain) is refused even with the token.
      String auth = "Authorization: Bearer s3cache-test-token-0123456789";
      assertEquals("403", Host.run("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", auth, "-H",
          "Origin: http://example.com", control + "/health").out());
      assertEquals("403", Host.run("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", auth, "-H",
          "Content-Type: text/plain", "--data", "{}", control + "/shutdown").out());
      // With the token, the CLI works over TCP.
      Host.Result stats = s3cache(Map.of(), "stats", "--control-url", control, "--token-file", token.toString());
      assertEquals(0, stats.exit(), stats.toString());
      // The metrics listener: GET /metrics and /health, nothing else, for anyone.
      Host.Result scraped = asOther("curl", "-s", "-w", "\n%{http_code}", metrics + "/metrics");
      assertTrue(scraped.out().endsWith("\n200") && scraped.out().contains("# TYPE"), scraped.out());
      assertEquals("200", asOther("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", metrics + "/health").out());
      assertEquals("404", asOther("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
          "Content-Type: application/json", "--data", "{}", metrics + "/shutdown").out());
      assertEquals("405", asOther("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
          metrics + "/metrics").out());
      assertEquals("404", asOther("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", metrics + "/mounts").out());
      assertTrue(ControlClient.isAlive(d.socket));
    }
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void badInputIsOneLine() throws Exception {
    Path mp = Files.createDirectories(dir.resolve("mnt-bad"));
    Path sock = dir.resolve("bad.sock");
    sockets.add(sock);
    Host.Result shortName = s3cache(Map.of(), "mount", "s3://ab", mp.toString(), "--socket", sock.toString());
    assertEquals(2, shortName.exit(), shortName.toString());
    assertTrue(shortName.errLine().startsWith("s3cache: invalid bucket name 'ab' in s3://ab"), shortName.errLine());

    Path conf = dir.resolve("twice.conf");
    Files.writeString(conf, "ram_cache = 64M\n# comment\nram_cache = 128M\n");
    Host.Result twice = s3cache(Map.of(), "mount", "s3://sec", mp.toString(), "--config", conf.toString(), "--socket",
        sock.toString());
    assertEquals(2, twice.exit(), twice.toString());
    assertEquals("s3cache: " + conf + " line 3: ram_cache is already set on line 1; give each key once",
        twice.errLine());

    Host.Result huge = s3cache(Map.of(), "mount", "s3://sec", mp.toString(), "--ram-cache", "1000T", "--socket",
        sock.toString());
    assertEquals(2, huge.exit(), huge.toString());
    assertTrue(huge.errLine().startsWith("s3cache: ram_cache 1000T is more than this machine's memory"),
        huge.errLine());

    Path file = Files.writeString(dir.resolve("a-file"), "x");
    Host.Result uncreatable = s3cache(Map.of(), "mount", "s3://sec", mp.toString(), "--cache-dir",
        file.resolve("cache").toString(), "--socket", sock.toString());
    assertEquals(1, uncreatable.exit(), uncreatable.toString());
    assertEquals("s3cache: cache dir " + file.resolve("cache") + " cannot be created: Not a directory",
        uncreatable.errLine());
    assertFalse(ControlClient.isAlive(sock));
  }
}
