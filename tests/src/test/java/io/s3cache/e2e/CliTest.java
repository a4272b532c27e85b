package io.s3cache.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.s3cache.control.ControlClient;
import io.s3cache.fuse.MountTable;
import java.io.File;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/s3cache as a user runs it: a background mount that returns once live, unmount, and bad input
 * that gets one clear line, a non-zero exit, no mount and no process left behind.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CliTest {

  private static final Path S3CACHE = Path.of("..", "bin", "s3cache").toAbsolutePath().normalize();

  record Result(int exit, String stdout, String stderr) {
    String errLine() {
      String[] lines = stderr.strip().split("\n");
      return lines[lines.length - 1];
    }
  }

  private Path dir;
  private MountFixture fx;
  private final List<Path> mountPoints = new ArrayList<>();

  @BeforeAll
  void start(@TempDir Path tempDir) throws Exception {
    dir = tempDir;
    fx = new MountFixture(dir);
    fx.server.createBucket("cli");
    fx.put("cli", "data/hello.txt", "hello from s3\n".getBytes(StandardCharsets.UTF_8));
  }

  @AfterAll
  void stop() throws Exception {
    try {
      for (Path sock : List.of(socket(), dir.resolve("other.sock"))) {
        if (ControlClient.isAlive(sock)) {
          long pid;
          try (ControlClient c = ControlClient.connect(sock)) {
            pid = c.health().pid();
          }
          try {
            assertEquals(0, run(Map.of(), "shutdown", "--socket", sock.toString()).exit);
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "daemon " + pid + " stopped");
          } finally {
            // Whatever failed above, leave no daemon behind for later test runs.
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
          }
        }
      }
    } finally {
      for (Path mp : mountPoints) {
        if (MountTable.isMounted(mp)) {
          new ProcessBuilder("fusermount", "-uz", mp.toString()).start().waitFor();
        }
      }
      fx.close();
    }
  }

  @AfterEach
  void nothingLeftMounted() throws Exception {
    for (Path mp : mountPoints) {
      if (MountTable.isMounted(mp)) {
        new ProcessBuilder("fusermount", "-uz", mp.toString()).start().waitFor();
        throw new AssertionError("test left " + mp + " mounted");
      }
    }
  }

  private Result run(Map<String, String> env, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(S3CACHE.toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("AWS_ACCESS_KEY_ID", fx.server.accessKey());
    pb.environment().put("AWS_SECRET_ACCESS_KEY", fx.server.secretKey());
    pb.environment().put("AWS_EC2_METADATA_DISABLED", "true");
    pb.environment().putAll(env);
    Path out = Files.createTempFile(dir, "out", ".txt");
    Path err = Files.createTempFile(dir, "err", ".txt");
    Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).redirectInput(new File("/dev/null")).start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("s3cache " + String.join(" ", args) + " did not finish");
    }
    return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
  }

  private Path mountPoint(String name) throws Exception {
    Path mp = Files.createDirectories(dir.resolve(name));
    mountPoints.add(mp);
    return mp;
  }

  private Path socket() {
    return dir.resolve("daemon.sock");
  }

  /** A mount through this class's daemon (one socket, one cache dir, as on a real host). */
  private String[] mountArgs(String source, Path mp, String... extra) {
    List<String> args = new ArrayList<>(List.of("mount", source, mp.toString(),
        "--endpoint", fx.server.endpoint().toString(), "--path-style", "-o", "connect_timeout=1s,max_attempts=2"));
    args.addAll(List.of(extra));
    if (!args.contains("--cache-dir")) {
      args.addAll(List.of("--cache-dir", dir.resolve("cache").toString()));
    }
    if (!args.contains("--socket")) {
      args.addAll(List.of("--socket", socket().toString()));
    }
    args.addAll(List.of("-o", "log_file=" + dir.resolve("daemon.log")));
    return args.toArray(String[]::new);
  }

  @Test
  void mountsGoThroughOneDaemonThatOutlivesUnmountUntilShutdown() throws Exception {
    Path mp = mountPoint("bg");
    Path mp2 = mountPoint("bg2");
    Path sock = dir.resolve("other.sock");
    String[] first = mountArgs("s3://cli/data", mp, "--socket", sock.toString(), "--cache-dir",
        dir.resolve("cache-other").toString());
    Result mounted = run(Map.of(), first);
    assertEquals(0, mounted.exit, mounted.stderr);
    assertTrue(MountTable.isMounted(mp), "mounted when mount returns");
    assertArrayEquals("hello from s3\n".getBytes(StandardCharsets.UTF_8), Files.readAllBytes(mp.resolve("hello.txt")));
    long pid;
    try (ControlClient c = ControlClient.connect(sock)) {
      pid = c.health().pid();
    }
    assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(sock)));

    Result second = run(Map.of(), mountArgs("s3://cli", mp2, "--socket", sock.toString(), "--cache-dir",
        dir.resolve("cache-other").toString()));
    assertEquals(0, second.exit, second.stderr);
    try (ControlClient c = ControlClient.connect(sock)) {
      assertEquals(pid, c.health().pid(), "the second mount is served by the same daemon");
      assertEquals(2, c.mounts().size());
    }
    Result again = run(Map.of(), first);
    assertEquals(1, again.exit);
    assertEquals("s3cache: mount point " + mp + " is already mounted", again.errLine());
    Result otherCache = run(Map.of(), mountArgs("s3://cli", mountPoint("bg3"), "--socket", sock.toString(),
        "--cache-dir", dir.resolve("elsewhere").toString()));
    assertEquals(2, otherCache.exit);
    assertTrue(otherCache.errLine().contains("cache_dir is " + dir.resolve("cache-other")), otherCache.stderr);

    Result unmounted = run(Map.of(), "unmount", mp.toString(), "--socket", sock.toString());
    assertEquals(0, unmounted.exit, unmounted.stderr);
    assertFalse(MountTable.isMounted(mp));
    assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "the daemon keeps running");
    assertTrue(MountTable.isMounted(mp2));

    Result shutdown = run(Map.of(), "shutdown", "--socket", sock.toString());
    assertEquals(0, shutdown.exit, shutdown.stderr);
    assertFalse(MountTable.isMounted(mp2), "shutdown unmounts everything");
    assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "the daemon exited");
    assertFalse(Files.exists(sock), "the socket is removed");
  }

  @Test
  void preloadStatsAndEvictFromTheCommandLine() throws Exception {
    for (int i = 0; i < 20; i++) {
      fx.put("cli", "set/f" + i, io.s3cache.testing.data.SampleDataset.content(300_000, i));
    }
    Path mp = mountPoint("tools");
    assertEquals(0, run(Map.of(), mountArgs("s3://cli", mp)).exit);
    String sock = socket().toString();

    Result dry = run(Map.of(), "preload", "--socket", sock, "--dry-run", mp.resolve("set").toString());
    assertEquals(0, dry.exit, dry.stderr);
    assertTrue(dry.stdout.contains("dry run: 20 objects"), dry.stdout);

    Result preload = run(Map.of(), "preload", "--socket", sock, "--parallel", "4", mp.resolve("set").toString());
    assertEquals(0, preload.exit, preload.stderr);
    assertTrue(preload.stdout.contains("preloaded 20 of 20 objects"), preload.stdout);
    Result again = run(Map.of(), "preload", "--socket", sock, "s3://cli/set/");
    assertEquals(0, again.exit, again.stderr);
    assertTrue(again.stdout.contains("fetched 0 B from S3"), again.stdout);

    assertFalse(Files.exists(mp.resolve("set/no-such-file")));
    Result stats = run(Map.of(), "stats", "--socket", sock, "--json", mp.toString());
    assertEquals(0, stats.exit, stats.stderr);
    assertTrue(stats.stdout.contains("\"diskBytes\""), stats.stdout);
    // Every request is counted by kind, per mount and in total: 20 one-block GETs, and the round
    // trips that move no bytes (LIST of the preload and of lookups) too.
    var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(stats.stdout);
    var mountRequests = json.get("mounts").get(0).get("requests");
    assertEquals(20, mountRequests.get("get").asLong(), stats.stdout);
    assertTrue(mountRequests.get("list").asLong() >= 1, stats.stdout);
    assertEquals(20, json.get("requests").get("get").asLong(), stats.stdout);
    Result text = run(Map.of(), "stats", "--socket", sock);
    assertTrue(text.stdout.contains("disk tier:"), text.stdout);
    assertTrue(text.stdout.contains("requests:   20 GET, "), text.stdout);

    Result evict = run(Map.of(), "evict", "--socket", sock, mp.resolve("set").toString());
    assertEquals(0, evict.exit, evict.stderr);
    assertTrue(evict.stdout.contains("evicted 20 blocks"), evict.stdout);
    Result refill = run(Map.of(), "preload", "--socket", sock, mp.resolve("set").toString());
    assertTrue(refill.stdout.contains("fetched 5.7 MiB from S3"), refill.stdout);

    // Files named one by one: the mount's metadata has their size and ETag, so no HEAD each.
    run(Map.of(), "evict", "--socket", sock, mp.resolve("set/f1").toString(), mp.resolve("set/f2").toString());
    long headsBefore = requests(sock, mp).get("head").asLong();
    Result files = run(Map.of(), "preload", "--socket", sock, mp.resolve("set/f1").toString(),
        mp.resolve("set/f2").toString());
    assertEquals(0, files.exit, files.stderr);
    assertTrue(files.stdout.contains("preloaded 2 of 2 objects"), files.stdout);
    assertEquals(headsBefore, requests(sock, mp).get("head").asLong(), "no HEAD per named file");

    Result badShard = run(Map.of(), "preload", "--socket", sock, "--shard", "4/4", mp.toString());
    assertEquals(2, badShard.exit);
    assertEquals("s3cache: invalid --shard '4/4': expected I/N with 0 <= I < N, e.g. 0/4", badShard.errLine());
    Result outside = run(Map.of(), "preload", "--socket", sock, dir.toString());
    assertEquals(1, outside.exit);
    assertTrue(outside.errLine().contains("is not under an s3cache mount"), outside.stderr);
    assertEquals(0, run(Map.of(), "unmount", "--socket", sock, mp.toString()).exit);
  }

  @Test
  void foregroundMountEndsWhenUnmounted() throws Exception {
    Path mp = mountPoint("fg");
    List<String> cmd = new ArrayList<>(List.of(S3CACHE.toString()));
    cmd.addAll(List.of(mountArgs("s3://cli", mp, "--foreground", "--cache-dir", dir.resolve("cache-fg").toString())));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("fg.log").toFile());
    pb.environment().put("AWS_ACCESS_KEY_ID", fx.server.accessKey());
    pb.environment().put("AWS_SECRET_ACCESS_KEY", fx.server.secretKey());
    Process p = pb.start();
    Path hello = mp.resolve("data/hello.txt");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!MountTable.isMounted(mp) && p.isAlive() && System.nanoTime() < deadline) {
      Thread.onSpinWait(); // a separate process: the mount table is the only signal there is
    }
    assertTrue(MountTable.isMounted(mp), Files.readString(dir.resolve("fg.log")));
    assertEquals("hello from s3\n", Files.readString(hello));
    assertEquals(0, new ProcessBuilder("fusermount", "-u", mp.toString()).start().waitFor());
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "foreground process exits after unmount");
    assertEquals(0, p.exitValue());
  }

  @Test
  void missingBucket() throws Exception {
    Path mp = mountPoint("nobucket");
    Result r = run(Map.of(), mountArgs("s3://no-such-bucket", mp));
    assertEquals(1, r.exit);
    assertTrue(r.errLine().startsWith("s3cache: bucket 'no-such-bucket' does not exist"), r.stderr);
    assertFalse(MountTable.isMounted(mp));
  }

  @Test
  void accessDenied() throws Exception {
    Path mp = mountPoint("denied");
    Result r = run(Map.of("AWS_SECRET_ACCESS_KEY", "wrong"), mountArgs("s3://cli", mp));
    assertEquals(1, r.exit);
    assertTrue(r.errLine().toLowerCase().contains("access denied"), r.stderr);
    assertFalse(MountTable.isMounted(mp));
  }

  @Test
  void endpointUnreachable() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    Path mp = mountPoint("unreachable");
    List<String> args = new ArrayList<>(List.of(mountArgs("s3://cli", mp)));
    args.set(args.indexOf("--endpoint") + 1, "http://127.0.0.1:" + port);
    Result r = run(Map.of(), args.toArray(String[]::new));
    assertEquals(1, r.exit);
    assertTrue(r.errLine().contains("127.0.0.1:" + port), r.stderr);
    assertTrue(r.errLine().contains("unreachable") || r.errLine().contains("cannot reach")
        || r.errLine().contains("refused"), r.stderr);
    assertFalse(MountTable.isMounted(mp));
  }

  @Test
  void badMountPoints() throws Exception {
    Result missing = run(Map.of(), mountArgs("s3://cli", dir.resolve("does-not-exist")));
    assertEquals(1, missing.exit);
    assertEquals("s3cache: mount point " + dir.resolve("does-not-exist") + " does not exist", missing.errLine());
    Path file = Files.writeString(dir.resolve("a-file"), "x");
    Result notDir = run(Map.of(), mountArgs("s3://cli", file));
    assertNotEquals(0, notDir.exit);
    assertEquals("s3cache: mount point " + file + " is not a directory", notDir.errLine());
  }

  @Test
  void cacheDirNotWritable() throws Exception {
    Path mp = mountPoint("badcache");
    Path file = Files.writeString(dir.resolve("plain-file"), "x");
    // Its own socket: the cache dir is checked when a daemon starts.
    Result r = run(Map.of(), mountArgs("s3://cli", mp, "--cache-dir", file.resolve("cache").toString(),
        "--socket", dir.resolve("badcache.sock").toString()));
    assertEquals(1, r.exit);
    assertTrue(r.errLine().startsWith("s3cache: cache dir " + file.resolve("cache")), r.stderr);
    assertFalse(MountTable.isMounted(mp));
  }

  @Test
  void unparseableSizeAndDuration() throws Exception {
    Path mp = mountPoint("badvalues");
    Result size = run(Map.of(), mountArgs("s3://cli", mp, "--ram-cache", "lots"));
    assertEquals(2, size.exit);
    assertEquals("s3cache: invalid size 'lots' for ram_cache: expected a number with an optional K, M, G or T suffix (e.g. 8M, 16G)",
        size.errLine());
    Result ttl = run(Map.of(), mountArgs("s3://cli", mp, "-o", "metadata_ttl=soon"));
    assertEquals(2, ttl.exit);
    assertTrue(ttl.errLine().startsWith("s3cache: invalid duration 'soon' for metadata_ttl"), ttl.stderr);
    Result option = run(Map.of(), mountArgs("s3://cli", mp, "-o", "colour=blue"));
    assertEquals(2, option.exit);
    assertEquals("s3cache: unknown mount option 'colour=blue'", option.errLine());
  }

  @Test
  void unmountOfSomethingElse() throws Exception {
    Result r = run(Map.of(), "unmount", dir.toString());
    assertEquals(1, r.exit);
    assertEquals("s3cache: " + dir + " is not mounted", r.errLine());
  }

  /** The mount's S3 requests by kind, from {@code stats --json}. */
  private com.fasterxml.jackson.databind.JsonNode requests(String sock, Path mp) throws Exception {
    Result stats = run(Map.of(), "stats", "--socket", sock, "--json", mp.toString());
    assertEquals(0, stats.exit, stats.stderr);
    return new com.fasterxml.jackson.databind.ObjectMapper().readTree(stats.stdout).get("mounts").get(0)
        .get("requests");
  }
}
