package io.s3cache.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import com.codahale.metrics.MetricRegistry;
import io.s3cache.metrics.MetricNames;
import io.s3cache.mount.BucketMount;
import io.s3cache.mount.MountSpec;
import io.s3cache.testing.data.ImageDatasetGenerator;
import io.s3cache.train.DaemonLink;
import io.s3cache.train.DjlEnvironment;
import io.s3cache.train.EpochReport;
import io.s3cache.train.Models;
import io.s3cache.train.TrainCli;
import io.s3cache.train.TrainingRun;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 7: a DJL model saved into the mount and loaded back. The trainer bridge trains one epoch
 * (200 generated PNGs of 4 classes from a read-only mount, 16x16, an MLP) with its checkpoint
 * directory on a writable mount (-o rw) of the same bucket; the checkpoint must be in S3 with
 * exactly the bytes the mount shows, load back with DJL (from the mount, from a cold mount and
 * from a local copy of the S3 object) equal to the model in memory, and leave nothing else in S3.
 * A read-only mount given as the checkpoint directory fails before training with one line.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(300)
class DjlCheckpointTest {

  private static final String BUCKET = "djl";
  private static final int IMAGES = 200;
  private static final int CLASSES = 4;
  private static final int SIZE = 16;
  private static final String MODEL = "mlp";
  private static final String NAME = "s3cache-" + MODEL;

  private Path dir;
  private MountFixture fx;
  private BucketMount data;
  private BucketMount models;
  private final MetricRegistry writeMetrics = new MetricRegistry();
  private final List<BucketMount> ownMounts = new ArrayList<>();
  private List<String> dataKeys;

  @BeforeAll
  void start(@TempDir Path tempDir) throws Exception {
    dir = tempDir;
    DjlEnvironment.configure();
    fx = new MountFixture(dir);
    fx.server.createBucket(BUCKET);
    new ImageDatasetGenerator(CLASSES, 2048, ImageDatasetGenerator.Format.PNG, 7)
        .upload(fx.s3(), BUCKET, "data/", IMAGES, 8);
    dataKeys = keys("data/");
    data = fx.mount("s3://" + BUCKET + "/data", "data", Map.of());
    models = open("s3://" + BUCKET + "/models", "models", writeMetrics, "rw");
  }

  @AfterAll
  void stop() {
    for (BucketMount m : ownMounts) {
      m.close();
    }
    if (fx != null) {
      fx.close();
    }
  }

  private BucketMount open(String source, String name, MetricRegistry metrics, String... options) throws Exception {
    Path mnt = Files.createDirectories(dir.resolve("mnt-" + name));
    BucketMount m = BucketMount.open(MountSpec.from(source, mnt, fx.settings(name), List.of(options)), metrics,
        fx.server.credentials());
    ownMounts.add(m);
    return m;
  }

  private List<String> keys(String prefix) {
    return fx.s3().listObjectsV2Paginator(b -> b.bucket(BUCKET).prefix(prefix)).contents().stream()
        .map(o -> o.key()).sorted().toList();
  }

  private byte[] s3Bytes(String key) {
    return fx.s3().getObjectAsBytes(b -> b.bucket(BUCKET).key(key)).asByteArray();
  }

  private long count(String timer) {
    return writeMetrics.timer(timer).getCount();
  }

  /** A model's parameters by name, and its outputs on a fixed batch of inputs. */
  record Snapshot(Map<String, float[]> parameters, float[] outputs) {

    static Snapshot of(Model model) {
      Map<String, float[]> params = new LinkedHashMap<>();
      for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
        params.put(p.getKey(), p.getValue().getArray().toFloatArray());
      }
      float[] input = new float[4 * 3 * SIZE * SIZE];
      SplittableRandom random = new SplittableRandom(99);
      for (int i = 0; i < input.length; i++) {
        input[i] = (float) random.nextDouble();
      }
      try (NDManager m = model.getNDManager().newSubManager()) {
        NDList out = model.getBlock().forward(new ParameterStore(m, false),
            new NDList(m.create(input, new Shape(4, 3, SIZE, SIZE))), false);
        return new Snapshot(params, out.singletonOrThrow().toFloatArray());
      }
    }

    void assertSameAs(Snapshot trained, String what) {
      assertEquals(trained.parameters().keySet(), parameters().keySet(), what);
      trained.parameters().forEach((name, values) ->
          assertArrayEquals(values, parameters().get(name), what + ": parameter " + name));
      assertArrayEquals(trained.outputs(), outputs(), what + ": outputs on a fixed input");
    }
  }

  /** Loads the newest checkpoint in {@code from} into a new model of the same block. */
  private static Snapshot load(Path from) throws Exception {
    try (Model model = Model.newInstance(NAME)) {
      model.setBlock(Models.build(MODEL, CLASSES));
      model.load(from, NAME);
      return Snapshot.of(model);
    }
  }

  @Test
  void checkpointSavedIntoTheMountIsInS3AndLoadsBackEqual() throws Exception {
    Path ckpt = models.mountPoint().resolve("ckpt");
    Path file = ckpt.resolve(NAME + "-0001.params");
    long uploads = count(MetricNames.UPLOADS);
    long puts = count(MetricNames.S3_PUT);
    long parts = count(MetricNames.S3_PUT_PART);
    long deletes = count(MetricNames.S3_DELETE);
    long copies = count(MetricNames.S3_COPY);
    List<Snapshot> trained = new ArrayList<>();
    List<Path> savedFiles = new ArrayList<>();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    long start = System.nanoTime();
    List<EpochReport> reports = new TrainingRun(
        new TrainingRun.Options(data.mountPoint(), MODEL, 1, 16, 2, false, SIZE, 42, 0.003f, ckpt),
        DaemonLink.detached(System.err), new PrintStream(out, true, StandardCharsets.UTF_8), "mount")
        .onCheckpoint((epoch, model, saved) -> {
          savedFiles.add(saved);
          trained.add(Snapshot.of(model));
        })
        .run();
    System.out.printf("one epoch with a checkpoint into the mount: %d ms; %s%n",
        (System.nanoTime() - start) / 1_000_000, reports.get(0).line());
    assertEquals(IMAGES, reports.get(0).samples(), out.toString());
    assertEquals(List.of(file), savedFiles);

    // (a) S3 has the checkpoint, with exactly the bytes the mount shows; DJL wrote it in place.
    byte[] inMount = Files.readAllBytes(file);
    byte[] inS3 = s3Bytes("models/ckpt/" + NAME + "-0001.params");
    assertTrue(inMount.length > 100_000, "an MLP of 768x128 + 128x4 weights: " + inMount.length + " bytes");
    assertEquals("DJL@", new String(inS3, 0, 4, StandardCharsets.US_ASCII));
    assertArrayEquals(inMount, inS3, "S3 holds exactly the bytes the mount shows");
    assertEquals(1, count(MetricNames.UPLOADS) - uploads, "one upload, at close");
    assertEquals(2, count(MetricNames.S3_PUT) - puts, "the directory marker and the checkpoint");
    assertEquals(0, count(MetricNames.S3_PUT_PART) - parts, "below multipart_threshold");
    assertEquals(0, count(MetricNames.S3_DELETE) - deletes, "nothing to clean up");
    assertEquals(0, count(MetricNames.S3_COPY) - copies, "no rename");

    // (b) DJL loads it back equal to the trained model: from the mount, from a cold mount of the
    // same prefix (every byte from S3), and from a local copy of the S3 object.
    Snapshot model = trained.get(0);
    load(ckpt).assertSameAs(model, "loaded from the writable mount");
    BucketMount cold = open("s3://" + BUCKET + "/models", "models-cold", new MetricRegistry());
    load(cold.mountPoint().resolve("ckpt")).assertSameAs(model, "loaded from a cold read-only mount");
    Path local = Files.createDirectories(dir.resolve("local-ckpt"));
    Files.write(local.resolve(file.getFileName()), inS3);
    load(local).assertSameAs(model, "loaded from a local copy of the S3 object");

    // (c) Nothing else in S3: no temp objects, no hidden files; the data is untouched.
    assertEquals(List.of("models/ckpt/", "models/ckpt/" + NAME + "-0001.params"), keys("models/ckpt/"));
    assertEquals(dataKeys, keys("data/"));
  }

  @Test
  void theCliChecksAWritableMountAndLeavesOnlyTheCheckpointInS3() throws Exception {
    Path ckpt = models.mountPoint().resolve("cli");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    long puts = count(MetricNames.S3_PUT);
    long deletes = count(MetricNames.S3_DELETE);
    int exit = TrainCli.run(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), "--data", data.mountPoint().toString(), "--model", MODEL,
        "--epochs", "1", "--batch", "16", "--workers", "2", "--image-size", String.valueOf(SIZE), "--lr", "0.003",
        "--checkpoint", ckpt.toString(), "--socket", dir.resolve("nobody.sock").toString());
    assertEquals(0, exit, out + "\n" + err);
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("mount epoch 1/1: "), out.toString());
    System.out.printf("the CLI's run with a checkpoint into the mount: %d PUTs, %d DELETEs%n",
        count(MetricNames.S3_PUT) - puts, count(MetricNames.S3_DELETE) - deletes);
    // The writability probe (a temp-named file created and deleted) leaves nothing behind.
    assertEquals(List.of("models/cli/", "models/cli/" + NAME + "-0001.params"), keys("models/cli/"));
    assertArrayEquals(Files.readAllBytes(ckpt.resolve(NAME + "-0001.params")),
        s3Bytes("models/cli/" + NAME + "-0001.params"));
  }

  @Test
  void aReadOnlyMountAsCheckpointDirectoryFailsBeforeTrainingWithOneLine() throws Exception {
    Path ckpt = data.mountPoint().resolve("ckpt");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    long gets = fx.gets();
    int exit = TrainCli.run(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), "--data", data.mountPoint().toString(), "--model", MODEL,
        "--epochs", "1", "--image-size", String.valueOf(SIZE), "--checkpoint", ckpt.toString(),
        "--socket", dir.resolve("nobody.sock").toString());
    assertEquals(1, exit);
    assertEquals("s3cache-train: cannot write checkpoints to " + ckpt + " (read-only file system); to save them "
        + "into S3, mount with -o rw, or give --checkpoint a local directory",
        err.toString(StandardCharsets.UTF_8).strip());
    assertEquals("", out.toString(StandardCharsets.UTF_8), "nothing trained");
    assertEquals(gets, fx.gets(), "no image was read");
    assertEquals(dataKeys, keys("data/"));
  }
}
