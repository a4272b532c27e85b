package io.s3cache.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import io.s3cache.control.ControlClient;
import io.s3cache.control.ControlServer;
import io.s3cache.control.ControlServerConfig;
import io.s3cache.control.MountRequest;
import io.s3cache.control.PlanStatus;
import io.s3cache.daemon.Daemon;
import io.s3cache.embedded.EmbeddedS3Server;
import io.s3cache.fuse.MountTable;
import io.s3cache.metrics.MetricNames;
import io.s3cache.mount.CacheRuntime;
import io.s3cache.testing.data.ImageDatasetGenerator;
import io.s3cache.train.DaemonLink;
import io.s3cache.train.EpochReport;
import io.s3cache.train.TrainCli;
import io.s3cache.train.TrainingRun;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The DJL trainer bridge end to end: a generated dataset in a real S3 server, a daemon in this JVM
 * with its control socket, a real FUSE mount, real training (PyTorch, CPU). Small on purpose: 200
 * images of 4 classes, resized to 16x16, an MLP.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TrainerBridgeTest {

  private static final Path S3CACHE = Path.of("..", "bin", "s3cache").toAbsolutePath().normalize();
  private static final int IMAGES = 200;
  private static final int CLASSES = 4;

  private Path dir;
  private EmbeddedS3Server server;
  private Daemon daemon;
  private ControlServer control;
  private MetricRegistry metrics;
  private Path socket;
  private Path mnt;
  private Path localCopy;

  @BeforeAll
  void start(@TempDir Path tempDir) throws Exception {
    dir = tempDir;
    server = EmbeddedS3Server.start(Files.createDirectories(dir.resolve("s3")));
    server.createBucket("train");
    new ImageDatasetGenerator(CLASSES, 2048, ImageDatasetGenerator.Format.PNG, 5)
        .upload(server.client(), "train", "ds/", IMAGES, 8);
    Settings settings = server.mountSettings(dir.resolve("cache"))
        .set(SettingKey.RAM_CACHE, "64M")
        .set(SettingKey.DISK_CACHE, "256M")
        .set(SettingKey.BLOCK_SIZE, "1M");
    metrics = new MetricRegistry();
    daemon = new Daemon(settings, CacheRuntime.open(settings, metrics), metrics, server.credentials());
    socket = dir.resolve("s3cache.sock");
    control = ControlServer.start(daemon, ControlServerConfig.unixSocket(socket));
    mnt = Files.createDirectories(dir.resolve("mnt"));
    daemon.mount(new MountRequest("s3://train/ds", mnt.toString(), Map.of(), List.of()));
    localCopy = dir.resolve("local");
    try (Stream<Path> files = Files.walk(server.dataDir().resolve("train/ds"))) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        Path to = localCopy.resolve(server.dataDir().resolve("train/ds").relativize(f));
        Files.createDirectories(to.getParent());
        Files.copy(f, to);
      }
    }
  }

  @AfterAll
  void stop() {
    if (control != null) {
      control.close();
    }
    if (daemon != null) {
      daemon.close();
    }
    if (server != null) {
      server.close();
    }
    assertFalse(MountTable.isMounted(mnt), "the daemon unmounted " + mnt);
  }

  private TrainingRun.Options options(Path data, boolean plan) {
    return new TrainingRun.Options(data, "mlp", 1, 16, 2, plan, 16, 42, 0.003f, null);
  }

  private long counter(String name) {
    return metrics.counter(name).getCount();
  }

  @Test
  void trainsFromTheMountWithAPlanAndEveryFileComesFromPrefetch() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    long getsBefore = metrics.timer(MetricNames.S3_GET).getCount();
    long planBlocksBefore = counter(MetricNames.PLAN_PREFETCH_BLOCKS);
    TrainingRun run;
    List<EpochReport> reports;
    try (DaemonLink link = DaemonLink.connect(socket, new PrintStream(out, true, StandardCharsets.UTF_8))) {
      assertTrue(link.connected());
      run = new TrainingRun(options(mnt, true), link, new PrintStream(out, true, StandardCharsets.UTF_8), "mount");
      reports = run.run();
    }
    EpochReport r = reports.get(0);
    assertEquals(IMAGES, r.samples());
    assertTrue(r.accuracy() > 0.4, "train accuracy above chance (0.25): " + r.line());

    // The loader read in exactly the planned order, and the plan saw every planned open.
    int[] planned = run.plannedOrders().get(0);
    assertEquals(Arrays.stream(planned).boxed().map(Integer::longValue).toList(), run.loadedOrders().get(0));
    PlanStatus plan = run.plans().get(0);
    assertNotNull(plan, "a plan was sent: " + out);
    assertEquals(IMAGES, plan.files());
    assertEquals(IMAGES, plan.readerPosition());
    assertFalse(plan.active());

    // Every image was fetched by the plan's prefetch; no reader had to GET anything itself.
    assertEquals(0, plan.onDemandGets(), out.toString());
    assertEquals(0, counter(MetricNames.PLAN_ONDEMAND_GETS));
    assertEquals(IMAGES, plan.prefetchedBlocks() + plan.alreadyCachedBlocks());
    assertEquals(IMAGES, counter(MetricNames.PLAN_PREFETCH_BLOCKS) - planBlocksBefore);
    assertEquals(IMAGES, metrics.timer(MetricNames.S3_GET).getCount() - getsBefore, "one GET per image");
    assertEquals(1.0, r.hitRatio(), 1e-9, r.line());
    assertTrue(r.bytesFromS3() > 0, r.line());
  }

  @Test
  void withoutADaemonTheBridgeTrainsWithoutPlansAndSaysSoOnce() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exit = TrainCli.run(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), "--data", localCopy.toString(), "--model", "mlp",
        "--epochs", "2", "--batch", "16", "--workers", "2", "--image-size", "16", "--lr", "0.003",
        "--socket", dir.resolve("nobody.sock").toString());
    assertEquals(0, exit, err.toString());
    String[] errLines = err.toString(StandardCharsets.UTF_8).strip().split("\n");
    assertEquals(1, errLines.length, err.toString());
    assertEquals("s3cache-train: no s3cache daemon answers on " + dir.resolve("nobody.sock")
        + ": training without epoch plans or cache figures", errLines[0]);
    String text = out.toString(StandardCharsets.UTF_8);
    assertTrue(text.contains("mount epoch 1/2: ") && text.contains("mount epoch 2/2: "), text);
    assertTrue(text.contains("cache hit n/a, from S3 n/a, on-demand GETs n/a (no plan)"), text);
  }

  @Test
  void anUnreadableImageIsSkippedAndCounted() throws Exception {
    Path data = dir.resolve("with-bad");
    try (Stream<Path> files = Files.walk(localCopy)) {
      for (Path f : files.filter(p -> Files.isRegularFile(p) && p.toString().endsWith(".png")).limit(40).toList()) {
        Path to = data.resolve(localCopy.relativize(f));
        Files.createDirectories(to.getParent());
        Files.copy(f, to);
      }
    }
    Path bad = data.resolve("class_00/broken.png");
    Files.createDirectories(bad.getParent());
    Files.createDirectories(data.resolve("class_01"));
    Files.copy(localCopy.resolve("class_01/img_000001.png"), data.resolve("class_01/img_000001.png"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Files.writeString(bad, "not an image");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    List<EpochReport> reports = new TrainingRun(new TrainingRun.Options(data, "mlp", 1, 8, 2, false, 16, 1, 0.003f, null),
        DaemonLink.detached(System.err), new PrintStream(out, true, StandardCharsets.UTF_8), "local").run();
    assertEquals(1, reports.get(0).skipped());
    try (Stream<Path> all = Files.walk(data)) {
      assertEquals(all.filter(p -> p.toString().endsWith(".png")).count() - 1, reports.get(0).samples());
    }
    assertTrue(out.toString().contains("skipped 1 unreadable images, first: " + bad + " is not a JPEG or PNG image"),
        out.toString());
  }

  @Test
  void badInputGetsOneLineAndANonZeroExit() throws Exception {
    record Case(String expected, String... args) {}
    Files.createDirectories(dir.resolve("empty-class/cats"));
    Files.copy(Files.list(localCopy.resolve("class_00")).findFirst().orElseThrow(), dir.resolve("empty-class/cats/a.png"));
    Files.createDirectories(dir.resolve("empty-class/dogs"));
    List<Case> cases = List.of(
        new Case("s3cache-train: data directory " + dir.resolve("missing") + " does not exist",
            "--data", dir.resolve("missing").toString()),
        new Case("s3cache-train: class directory " + dir.resolve("empty-class/dogs") + " has no JPEG or PNG images",
            "--data", dir.resolve("empty-class").toString()),
        new Case("s3cache-train: unknown model 'vgg': expected one of mlp, cnn, resnet18",
            "--data", localCopy.toString(), "--model", "vgg"),
        new Case("s3cache-train: cannot write checkpoints to " + mnt.resolve("ckpt")
            + " (read-only file system); to save them into S3, mount with -o rw, or give --checkpoint a local directory",
            "--data", localCopy.toString(), "--checkpoint", mnt.resolve("ckpt").toString()));
    for (Case c : cases) {
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      List<String> args = new ArrayList<>(List.of(c.args()));
      args.addAll(List.of("--socket", dir.resolve("nobody.sock").toString()));
      int exit = TrainCli.run(new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8),
          args.toArray(String[]::new));
      String[] lines = err.toString(StandardCharsets.UTF_8).strip().split("\n");
      assertEquals(1, exit, err.toString());
      assertEquals(c.expected(), lines[lines.length - 1]);
    }
  }

  record Result(int exit, String stdout, String stderr) {}

  private Result cli(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(S3CACHE.toString()));
    cmd.addAll(List.of(args));
    Path out = Files.createTempFile(dir, "out", ".txt");
    Path err = Files.createTempFile(dir, "err", ".txt");
    Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
        .redirectInput(new File("/dev/null")).start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("s3cache " + String.join(" ", args) + " did not finish");
    }
    return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
  }

  @Test
  void preloadOrderSendsAPlanFromAFileAndRejectsBadOnes() throws Exception {
    List<String> order = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      int image = i * 7 % IMAGES; // the generator puts image n in class n % CLASSES
      order.add(mnt.resolve(String.format("class_%02d/img_%06d.png", image % CLASSES, image)).toString());
    }
    for (String p : order) {
      assertTrue(Files.exists(Path.of(p)), p);
    }
    try (ControlClient c = ControlClient.connect(socket)) {
      c.evict(new io.s3cache.control.EvictRequest(order));
    }
    Path file = dir.resolve("order.txt");
    Files.write(file, order);
    Result ok = cli("preload", "--order", file.toString(), "--epoch", "3", "--socket", socket.toString());
    assertEquals(0, ok.exit(), ok.stderr());
    assertTrue(java.util.regex.Pattern.matches(java.util.regex.Pattern.quote("plan ") + "p\\d+" + java.util.regex.Pattern.quote(
        " for epoch 3 sent: 12 files on " + mnt + "; the daemon prefetches them ahead of the reader "
        + "('s3cache stats' shows progress; the plan ends when the last file is opened)"), ok.stdout().strip()),
        ok.stdout());
    for (String p : order) {
      Files.readAllBytes(Path.of(p)); // the reader, in plan order
    }
    try (ControlClient c = ControlClient.connect(socket)) {
      // The reader opened the last planned file: the plan finished and is kept for its figures.
      java.util.regex.Matcher id = java.util.regex.Pattern.compile("plan (p\\d+) ").matcher(ok.stdout());
      assertTrue(id.find(), ok.stdout());
      PlanStatus s = c.planStatus(id.group(1));
      assertEquals("finished", s.state());
      assertEquals(3, s.epoch());
      assertEquals(12, s.readerPosition());
      assertEquals(0, s.onDemandGets());
      assertEquals(12, s.prefetchedBlocks());
    }

    Files.write(file, List.of(order.get(0), mnt.resolve("class_00/nope.png").toString()));
    Result missing = cli("preload", "--order", file.toString(), "--socket", socket.toString());
    assertEquals(1, missing.exit());
    assertEquals("s3cache: plan: no such file or directory: " + mnt.resolve("class_00/nope.png"), missing.stderr().strip());

    Files.write(file, List.of(dir.resolve("local/class_00/img_000000.png").toString()));
    Result outside = cli("preload", "--order", file.toString(), "--socket", socket.toString());
    assertEquals(1, outside.exit());
    assertEquals("s3cache: " + dir.resolve("local/class_00/img_000000.png")
        + " is not under an s3cache mount of this daemon", outside.stderr().strip());

    Result noFile = cli("preload", "--order", dir.resolve("none.txt").toString(), "--socket", socket.toString());
    assertEquals(2, noFile.exit());
    assertEquals("s3cache: order file " + dir.resolve("none.txt") + " does not exist", noFile.stderr().strip());
  }
}
