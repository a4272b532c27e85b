package io.s3cache.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import io.s3cache.control.ControlClient;
import io.s3cache.control.ControlServer;
import io.s3cache.control.ControlServerConfig;
import io.s3cache.control.MountRequest;
import io.s3cache.control.PlanRequest;
import io.s3cache.control.PlanStatus;
import io.s3cache.control.PreloadProgress;
import io.s3cache.control.PreloadRequest;
import io.s3cache.daemon.Daemon;
import io.s3cache.embedded.EmbeddedS3Server;
import io.s3cache.fuse.MountTable;
import io.s3cache.metrics.MetricNames;
import io.s3cache.mount.CacheRuntime;
import io.s3cache.preload.ShardSelector;
import io.s3cache.testing.data.PageCache;
import io.s3cache.testing.data.SampleDataset;
import io.s3cache.testing.data.TreeReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host daemon end to end: a real S3 server, a daemon with its control socket in this JVM, real
 * FUSE mounts, requests through the control client as the CLI sends them.
 */
class DaemonTest {

  private static final int MiB = 1 << 20;

  @TempDir Path dir;
  private EmbeddedS3Server server;
  private Daemon daemon;
  private ControlServer control;
  private MetricRegistry metrics;
  private Path socket;

  private void start(String diskCache) throws Exception {
    server = EmbeddedS3Server.start(Files.createDirectories(dir.resolve("s3")));
    socket = dir.resolve("s3cache.sock");
    startDaemon(diskCache);
  }

  /** A daemon (and its control server) over this test's cache dir and S3 server. */
  private void startDaemon(String diskCache) throws Exception {
    Settings settings = server.mountSettings(dir.resolve("cache"))
        .set(SettingKey.RAM_CACHE, "64M")
        .set(SettingKey.DISK_CACHE, diskCache)
        .set(SettingKey.BLOCK_SIZE, "1M");
    metrics = new MetricRegistry();
    daemon = new Daemon(settings, CacheRuntime.open(settings, metrics), metrics, server.credentials());
    control = ControlServer.start(daemon, ControlServerConfig.unixSocket(socket));
  }

  @AfterEach
  void stop() throws Exception {
    List<String> mounted = daemon == null ? List.of() : daemon.mounts().stream().map(m -> m.mountPoint()).toList();
    if (control != null) {
      control.close();
    }
    if (daemon != null) {
      daemon.close();
    }
    if (server != null) {
      server.close();
    }
    for (String mp : mounted) {
      assertFalse(MountTable.isMounted(Path.of(mp)), "closing the daemon unmounted " + mp);
    }
  }

  private Path mount(String source, String name) throws Exception {
    Path mp = Files.createDirectories(dir.resolve(name));
    try (ControlClient c = ControlClient.connect(socket)) {
      c.mount(new MountRequest(source, mp.toString(), Map.of(), List.of()));
    }
    return mp;
  }

  private PreloadProgress preload(PreloadRequest request) throws Exception {
    try (ControlClient c = ControlClient.connect(socket)) {
      return c.preload(request, p -> {});
    }
  }

  private long gets() {
    return metrics.timer(MetricNames.S3_GET).getCount();
  }

  @Test
  void afterPreloadReadingEverythingMakesNoGetAndASecondPreloadFetchesNothing() throws Exception {
    start("1G");
    server.createBucket("data");
    SampleDataset data = SampleDataset.upload(server.client(), "data", "train/", 2, 5 * MiB + 3, 300, 21);
    Path mp = mount("s3://data", "mnt");
    PreloadProgress first = preload(new PreloadRequest(List.of(mp.resolve("train").toString()), 8, null, null, false));
    assertTrue(first.done());
    assertEquals(data.items().size(), first.files());
    assertEquals(data.totalBytes(), first.bytesFetched());
    assertEquals(first.files(), first.filesDone());
    assertTrue(first.failed().isEmpty(), first.failed().toString());

    long before = gets();
    PageCache.drop();
    for (SampleDataset.Item item : data.items()) {
      assertEquals(item.sha256(), TreeReader.sha256(mp.resolve(item.key())), item.key());
    }
    assertEquals(before, gets(), "no GET after preload");

    PreloadProgress second = preload(new PreloadRequest(List.of("s3://data/train/"), 8, null, null, false));
    assertEquals(0, second.bytesFetched(), "a second preload fetches nothing");
    assertEquals(data.totalBytes(), second.bytesDone());
    assertEquals(before, gets());
  }

  /**
   * Two trainers (DDP ranks) on one mount, each with its own plan: each plan follows the opens of
   * its own files, both are listed, and neither fetches for the other; a plan sent with
   * endWithClient ends when the process that sent it exits.
   */
  @Test
  void plansOfTwoRanksOnOneMountAdvanceIndependentlyAndAPlanEndsWithItsClient() throws Exception {
    start("1G");
    server.createBucket("data");
    SampleDataset data = SampleDataset.upload(server.client(), "data", "train/", 0, 0, 40, 5);
    Path mp = mount("s3://data", "mnt");
    List<String> rank0 = new ArrayList<>();
    List<String> rank1 = new ArrayList<>();
    for (int i = 0; i < data.items().size(); i++) {
      (i % 2 == 0 ? rank0 : rank1).add(mp.resolve(data.items().get(i).key()).toString());
    }
    try (ControlClient c = ControlClient.connect(socket)) {
      PlanStatus p0 = c.plan(new PlanRequest(1, rank0, 4, null, null, "rank0", null, null));
      PlanStatus p1 = c.plan(new PlanRequest(1, rank1, 4, null, null, "rank1", null, null));
      assertEquals(List.of(p0.id(), p1.id()), c.plans(mp.toString()).plans().stream().map(PlanStatus::id).toList());
      for (int i = 0; i < 10; i++) { // rank 0 reads half its files, rank 1 all of its
        Files.readAllBytes(Path.of(rank0.get(i)));
      }
      for (String f : rank1) {
        Files.readAllBytes(Path.of(f));
      }
      PlanStatus s0 = c.planStatus(p0.id());
      PlanStatus s1 = c.planStatus(p1.id());
      assertEquals(10, s0.readerPosition());
      assertEquals("active", s0.state());
      assertEquals(20, s1.readerPosition());
      assertEquals("finished", s1.state());
      assertEquals(0, s0.onDemandGets() + s1.onDemandGets(), "each plan fetched its own reader's files ahead");
      assertEquals("ended", c.endPlan(p0.id()).state());

      // A dataset reached through a symlink to the mount: refused, saying why and what to send.
      Path link = Files.createSymbolicLink(dir.resolve("dataset-link"), mp);
      String viaLink = link.resolve(data.items().get(0).key()).toString();
      io.s3cache.control.ControlException refused = org.junit.jupiter.api.Assertions.assertThrows(
          io.s3cache.control.ControlException.class, () -> c.plan(new PlanRequest(1, List.of(viaLink))));
      assertEquals(404, refused.status());
      assertEquals(viaLink + " is not under an s3cache mount of this daemon (it goes through a symlink: its real path "
          + mp.resolve(data.items().get(0).key()) + " is on an s3cache mount; send that path, e.g. from realpath)",
          refused.getMessage());

      // A client process that sends a plan tied to itself, then dies.
      Process client = new ProcessBuilder("python3", "-c", String.join("\n",
          "import socket, sys, time",
          "body = sys.stdin.read().encode()",
          "s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])",
          "s.sendall(b'POST /plan HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\n'",
          "          + b'Content-Length: %d\\r\\n\\r\\n' % len(body) + body)",
          "print(s.recv(65536).decode().split('\\r\\n\\r\\n', 1)[1], flush=True)",
          "time.sleep(600)"), socket.toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
      try {
        client.getOutputStream().write(("{\"epoch\":2,\"name\":\"rank0\",\"window\":2,\"endWithClient\":true,"
            + "\"paths\":[\"" + String.join("\",\"", rank0) + "\"]}").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        client.getOutputStream().close();
        String answer = new java.io.BufferedReader(new java.io.InputStreamReader(client.getInputStream())).readLine();
        java.util.regex.Matcher id = Pattern.compile("\"id\":\"(p\\d+)\"").matcher(answer);
        assertTrue(id.find(), answer);
        PlanStatus owned = c.planStatus(id.group(1));
        assertEquals(client.pid(), owned.clientPid());
        assertEquals("active", owned.state());
        client.destroy();
        client.waitFor();
        long deadline = System.nanoTime() + 15_000_000_000L;
        while (c.planStatus(owned.id()).state().equals("active") && System.nanoTime() < deadline) {
          Thread.sleep(100);
        }
        assertEquals("ended", c.planStatus(owned.id()).state(), "the plan ended with its client");
      } finally {
        client.destroyForcibly();
      }
    }
  }

  @Test
  void shardsTogetherCoverEveryObjectExactlyOnce() throws Exception {
    start("1G");
    server.createBucket("shards");
    SampleDataset data = SampleDataset.upload(server.client(), "shards", "", 0, 0, 400, 5);
    Path mp = mount("s3://shards", "mnt");
    long files = 0;
    long fetched = 0;
    for (int i = 0; i < 4; i++) {
      PreloadProgress p = preload(new PreloadRequest(List.of(mp.toString()), 8, i, 4, false));
      assertTrue(p.files() > 50 && p.files() < 150, "shard " + i + " holds a fair share: " + p.files());
      files += p.files();
      fetched += p.bytesFetched();
    }
    assertEquals(data.items().size(), files, "every object in some shard");
    assertEquals(data.totalBytes(), fetched, "no object fetched by two shards");
    for (SampleDataset.Item item : data.items()) {
      int owners = 0;
      for (int i = 0; i < 4; i++) {
        owners += new ShardSelector(i, 4).selects(item.key()) ? 1 : 0;
      }
      assertEquals(1, owners, item.key());
    }
  }

  @Test
  void dryRunFetchesNothingAndTooBigPreloadIsRefusedWithSizes() throws Exception {
    start("16M");
    server.createBucket("big");
    SampleDataset.upload(server.client(), "big", "", 5, 4 * MiB, 0, 8);
    Path mp = mount("s3://big", "mnt");
    PreloadProgress dry = preload(new PreloadRequest(List.of(mp.toString()), 4, null, null, true));
    assertEquals(5, dry.files());
    assertEquals(0, dry.bytesFetched());
    assertTrue(dry.error() != null && dry.error().contains("does not fit"), String.valueOf(dry.error()));
    assertEquals(0, gets());
    io.s3cache.control.ControlException refused = org.junit.jupiter.api.Assertions.assertThrows(
        io.s3cache.control.ControlException.class,
        () -> preload(new PreloadRequest(List.of(mp.toString()), 4, null, null, false)));
    assertEquals(409, refused.status());
    assertTrue(refused.getMessage().contains("20 MiB") && refused.getMessage().contains("does not fit"),
        refused.getMessage());
    assertEquals(0, gets(), "nothing fetched by a refused preload");
  }

  @Test
  void metricsAreValidPrometheusText() throws Exception {
    start("1G");
    server.createBucket("metrics");
    server.client().putObject(b -> b.bucket("metrics").key("f"), software.amazon.awssdk.core.sync.RequestBody.fromBytes(new byte[100]));
    Path mp = mount("s3://metrics", "mnt");
    assertEquals(100, Files.readAllBytes(mp.resolve("f")).length);
    String text;
    try (ControlClient c = ControlClient.connect(socket)) {
      text = c.metricsText();
    }
    Pattern help = Pattern.compile("# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*");
    Pattern type = Pattern.compile("# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|summary|histogram|untyped)");
    Pattern sample = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"[^\"]*\",?)*\\})? "
        + "(-?[0-9.eE+-]+|NaN|[+-]Inf)");
    for (String line : text.split("\n")) {
      if (!line.isEmpty()) {
        assertTrue(help.matcher(line).matches() || type.matcher(line).matches() || sample.matcher(line).matches(),
            "not Prometheus text: " + line);
      }
    }
    assertTrue(text.contains("s3_requests_get_count 1") || text.contains("s3_requests_get_count 1.0"), text);
    assertTrue(text.contains("cache_ram_misses"), text);
  }

  @Test
  void twoMountsShareOneDiskCap() throws Exception {
    start("24M");
    server.createBucket("one");
    server.createBucket("two");
    SampleDataset.upload(server.client(), "one", "", 10, 4 * MiB, 0, 1);
    SampleDataset.upload(server.client(), "two", "", 10, 4 * MiB, 0, 2);
    Path a = mount("s3://one", "a");
    Path b = mount("s3://two", "b");
    long cap = 24L * MiB;
    long maxSeen = 0;
    List<Path> files = new ArrayList<>(TreeReader.files(a));
    files.addAll(TreeReader.files(b));
    for (Path f : files) {
      TreeReader.sha256(f);
      daemon.mounts(); // both mounts are served by one daemon and one cache
      awaitDiskWrites();
      maxSeen = Math.max(maxSeen, DiskUsage.of(dir.resolve("cache")));
    }
    assertTrue(maxSeen > cap / 2, "the shared disk tier filled: " + maxSeen);
    assertTrue(maxSeen <= cap, "two mounts together stayed under the one cap: " + maxSeen);
    assertEquals(2, daemon.mounts().size());
  }

  @Test
  void twoMountsOfOneBucketSurviveEitherUnmount() throws Exception {
    start("1G");
    server.createBucket("shared");
    byte[] a = SampleDataset.content(3 * MiB, 1);
    byte[] b = SampleDataset.content(3 * MiB, 2);
    server.client().putObject(r -> r.bucket("shared").key("a/f"), software.amazon.awssdk.core.sync.RequestBody.fromBytes(a));
    server.client().putObject(r -> r.bucket("shared").key("b/f"), software.amazon.awssdk.core.sync.RequestBody.fromBytes(b));
    Path first = mount("s3://shared/a", "first");
    Path second = mount("s3://shared/b", "second");
    try (ControlClient c = ControlClient.connect(socket)) {
      c.unmount(first.toString()); // closes the client the first mount registered for the bucket
    }
    assertEquals(SampleDataset.sha256(b), TreeReader.sha256(second.resolve("f")),
        "the second mount still fetches after the first mount of the same bucket is gone");
  }

  @Test
  void aRefusedMountRequestDoesNotBlockItsMountPoint() throws Exception {
    start("1G");
    server.createBucket("retry");
    Path mp = Files.createDirectories(dir.resolve("retry"));
    try (ControlClient c = ControlClient.connect(socket)) {
      io.s3cache.control.ControlException refused = org.junit.jupiter.api.Assertions.assertThrows(
          io.s3cache.control.ControlException.class, () -> c.mount(new MountRequest("s3://retry", mp.toString(),
              Map.of(), List.of(), new io.s3cache.control.MountCredentials("AKID", null, null, null))));
      assertEquals(400, refused.status());
      c.mount(new MountRequest("s3://retry", mp.toString(), Map.of(), List.of()));
    }
    assertTrue(MountTable.isMounted(mp), "the corrected request mounts");
  }

  @Test
  void aRestartedDaemonKeepsItsDiskCache() throws Exception {
    start("1G");
    server.createBucket("warm");
    SampleDataset data = SampleDataset.upload(server.client(), "warm", "", 2, 3 * MiB, 40, 4);
    Path mp = mount("s3://warm", "mnt");
    assertEquals(data.totalBytes(), preload(new PreloadRequest(List.of(mp.toString()), 8, null, null, false))
        .bytesFetched());
    control.close();
    daemon.close(); // unmounts; the disk tier stays on disk
    assertFalse(MountTable.isMounted(mp));

    startDaemon("1G");
    mount("s3://warm", "mnt");
    for (SampleDataset.Item item : data.items()) {
      assertEquals(item.sha256(), TreeReader.sha256(mp.resolve(item.key())), item.key());
    }
    assertEquals(0, gets(), "every block came from the disk tier the first daemon filled");
    assertTrue(daemon.cache().stats().diskHits() > 0);
  }

  private void awaitDiskWrites() throws Exception {
    daemon.cache().awaitDiskWrites();
  }

  @Test
  void preloadKilledMidwayThenRerunFetchesOnlyTheMissingBytes() throws Exception {
    start("2G");
    server.createBucket("resume");
    SampleDataset data = SampleDataset.upload(server.client(), "resume", "", 48, 8 * MiB, 0, 3);
    Path mp = mount("s3://resume", "mnt");
    Path cli = Path.of("..", "bin", "s3cache").toAbsolutePath().normalize();
    List<String> cmd = List.of(cli.toString(), "preload", "--socket", socket.toString(), "--parallel", "1", mp.toString());
    Process first = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("first.log").toFile())
        .start();
    var fetched = metrics.counter(MetricNames.PRELOAD_BYTES_FETCHED);
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (fetched.getCount() < 20L * MiB && first.isAlive() && System.nanoTime() < deadline) {
      java.util.concurrent.locks.LockSupport.parkNanos(1_000_000); // another process: watch its effect here
    }
    first.destroyForcibly().waitFor();
    long atKill = fetched.getCount();
    assertTrue(atKill > 0 && atKill < data.totalBytes(), "killed midway: " + atKill + " of " + data.totalBytes());

    Process second = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("second.log").toFile())
        .start();
    assertEquals(0, second.waitFor(), Files.readString(dir.resolve("second.log")));
    assertEquals(data.totalBytes(), fetched.getCount(), "both runs together fetched every byte once");
    assertEquals(data.totalBytes(), metrics.counter(MetricNames.S3_BYTES).getCount(), "no block was fetched twice");
    assertTrue(Files.readString(dir.resolve("second.log")).contains("preloaded 48 of 48 objects"),
        Files.readString(dir.resolve("second.log")));
  }
}
