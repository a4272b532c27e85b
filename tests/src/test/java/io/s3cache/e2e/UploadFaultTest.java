package io.s3cache.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import io.s3cache.embedded.FaultInjectingProxy;
import io.s3cache.embedded.FaultInjectingProxy.Fault;
import io.s3cache.embedded.FaultPlan;
import io.s3cache.metrics.MetricNames;
import io.s3cache.mount.BucketMount;
import io.s3cache.mount.MountSpec;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;

/**
 * Writes through a real writable mount whose S3 traffic goes through {@link FaultInjectingProxy}:
 * uploads that fail after retries make {@code cp} fail with EIO, keep the bytes staged and visible,
 * and the next close (or the next mount) uploads them; with a tenth of all requests faulted, and
 * every answer to a multipart completion lost, every file still lands in S3 byte-exact.
 */
@Timeout(300)
class UploadFaultTest {

  private static final long MIB = 1 << 20;
  private static final String BUCKET = "upfault";

  @TempDir Path dir;
  private MountFixture fx;
  private FaultInjectingProxy proxy;
  private final List<BucketMount> mounts = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    fx = new MountFixture(dir);
    fx.server.createBucket(BUCKET);
    proxy = FaultInjectingProxy.start(fx.server.endpoint());
  }

  @AfterEach
  void stop() throws Exception {
    try {
      proxy.clearQueued();
      proxy.plan(FaultPlan.none());
      for (BucketMount m : mounts) {
        m.close();
      }
      fx.close();
    } finally {
      proxy.close();
    }
  }

  /** A writable mount through the proxy: 8M multipart threshold, 5M parts, 3 attempts per request. */
  private BucketMount mount(String name, MetricRegistry metrics, int attempts) throws Exception {
    Settings settings = fx.settings(name)
        .set(SettingKey.ENDPOINT, proxy.endpoint().toString())
        .set(SettingKey.MAX_ATTEMPTS, Integer.toString(attempts))
        .set(SettingKey.REQUEST_TIMEOUT, "2s")
        .set(SettingKey.CONNECT_TIMEOUT, "1s")
        .set(SettingKey.MULTIPART_THRESHOLD, "8M")
        .set(SettingKey.UPLOAD_PART_SIZE, "5M")
        .set(SettingKey.UPLOAD_THREADS, "4");
    Path mnt = Files.createDirectories(dir.resolve("mnt-" + name));
    BucketMount m = BucketMount.open(MountSpec.from("s3://" + BUCKET, mnt, settings, List.of("rw")), metrics,
        fx.server.credentials());
    mounts.add(m);
    return m;
  }

  private void unmount(BucketMount m) {
    m.close();
    mounts.remove(m);
  }

  private static String run(Path cwd, String... command) throws Exception {
    Process p = new ProcessBuilder(command).directory(cwd.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    return p.waitFor() + ":" + out;
  }

  private String s3Sha(String key) throws Exception {
    Path copy = dir.resolve("from-s3-" + key.replace('/', '_'));
    Files.deleteIfExists(copy);
    fx.s3().getObject(b -> b.bucket(BUCKET).key(key), copy);
    String sha = WriteMountTest.sha(copy);
    Files.delete(copy);
    return sha;
  }

  private boolean inS3(String key) {
    try {
      fx.s3().headObject(b -> b.bucket(BUCKET).key(key));
      return true;
    } catch (NoSuchKeyException e) {
      return false;
    }
  }

  private static boolean isPut(String requestLine) {
    return requestLine.startsWith("PUT ");
  }

  private long stagedFiles(String name) throws Exception {
    Path staging = dir.resolve("cache-" + name).resolve("staging");
    try (Stream<Path> s = Files.walk(staging)) {
      return s.filter(p -> p.toString().endsWith(".data")).count();
    }
  }

  @Test
  void failedUploadsGiveEioKeepTheBytesAndTheNextCloseUploadsThem() throws Exception {
    MetricRegistry metrics = new MetricRegistry();
    BucketMount m = mount("eio", metrics, 3);
    Path small = dir.resolve("small.src");
    Path big = dir.resolve("big.src");
    WriteMountTest.randomFile(small, 3 * MIB + 17, 1);
    WriteMountTest.randomFile(big, 21 * MIB + 5, 2);

    proxy.enqueueFor(UploadFaultTest::isPut, Fault.INTERNAL_ERROR, Integer.MAX_VALUE); // every PUT and part
    String smallOut = run(dir, "cp", small.toString(), m.mountPoint().resolve("small.bin").toString());
    String bigOut = run(dir, "cp", big.toString(), m.mountPoint().resolve("big.bin").toString());
    assertTrue(smallOut.startsWith("1:") && smallOut.contains("Input/output error"), smallOut);
    assertTrue(bigOut.startsWith("1:") && bigOut.contains("Input/output error"), bigOut);
    assertFalse(inS3("small.bin"), "a failed PUT leaves nothing in S3");
    assertFalse(inS3("big.bin"), "a failed multipart upload is not completed");
    assertTrue(metrics.counter(MetricNames.UPLOAD_FAILURES).getCount() >= 2);

    // Nothing is lost: the staged bytes are kept and the mount shows them.
    assertEquals(2, stagedFiles("eio"));
    assertEquals(WriteMountTest.sha(small), WriteMountTest.sha(m.mountPoint().resolve("small.bin")));
    assertEquals(WriteMountTest.sha(big), WriteMountTest.sha(m.mountPoint().resolve("big.bin")));

    // S3 is back: touch (open, close) and an open for writing that writes nothing upload them.
    proxy.clearQueued();
    String touched = run(dir, "touch", m.mountPoint().resolve("small.bin").toString());
    assertTrue(touched.startsWith("0:"), touched);
    FileChannel.open(m.mountPoint().resolve("big.bin"), StandardOpenOption.WRITE).close();
    assertEquals(WriteMountTest.sha(small), s3Sha("small.bin"));
    assertEquals(WriteMountTest.sha(big), s3Sha("big.bin"));
    assertEquals(Files.size(small) + Files.size(big), metrics.counter(MetricNames.UPLOAD_BYTES).getCount(),
        "each uploaded once, whole");
  }

  @Test
  void aFailedUploadIsUploadedByTheNextMount() throws Exception {
    BucketMount m = mount("next", new MetricRegistry(), 2);
    Path src = dir.resolve("ckpt.src");
    WriteMountTest.randomFile(src, 13 * MIB + 1, 3);
    proxy.enqueueFor(UploadFaultTest::isPut, Fault.SLOW_DOWN, Integer.MAX_VALUE);
    String out = run(dir, "cp", src.toString(), m.mountPoint().resolve("ckpt.bin").toString());
    assertNotEquals('0', out.charAt(0), out);
    unmount(m); // its upload at unmount fails too: the bytes stay staged
    assertFalse(inS3("ckpt.bin"));
    assertEquals(1, stagedFiles("next"));

    proxy.clearQueued();
    MetricRegistry metrics = new MetricRegistry();
    mount("next", metrics, 2); // same cache dir: recovery uploads before the mount goes live
    assertEquals(1, metrics.counter(MetricNames.UPLOAD_RECOVERED).getCount());
    assertEquals(WriteMountTest.sha(src), s3Sha("ckpt.bin"));
    // Uploaded, so no longer staged once the cache fill that follows an upload (in the background) ends.
    for (long end = System.nanoTime() + 60_000_000_000L; stagedFiles("next") > 0; Thread.sleep(50)) {
      assertTrue(System.nanoTime() < end, "still staged 60 s after its upload");
    }
  }

  @Test
  void withATenthOfRequestsFaultedAndCompletionAnswersLostEveryFileLandsExact() throws Exception {
    MetricRegistry metrics = new MetricRegistry();
    // Six attempts: a request fails only if all six are faulted (1e-6 at 10%).
    BucketMount m = mount("mixed", metrics, 6);
    List<Path> sources = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      Path src = dir.resolve("src-" + i);
      WriteMountTest.randomFile(src, i % 8 == 0 ? 17 * MIB + i : 40_000 + i * 9_731L, 100 + i);
      sources.add(src);
    }
    proxy.plan(FaultPlan.mixed(0.10, 777, Duration.ofMillis(200)));
    // Every answer to a multipart completion is lost too: the object's ETag shows it completed.
    proxy.enqueueFor(l -> l.startsWith("POST ") && l.contains("uploadId="), Fault.DROP_RESPONSE, Integer.MAX_VALUE);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<String>> copies = new ArrayList<>();
      for (int i = 0; i < sources.size(); i++) {
        Path src = sources.get(i);
        Path target = m.mountPoint().resolve("ckpt/step-" + i + ".bin");
        Files.createDirectories(target.getParent());
        copies.add(pool.submit(() -> run(dir, "cp", src.toString(), target.toString())));
      }
      for (Future<String> c : copies) {
        String out = c.get();
        assertTrue(out.startsWith("0:"), out);
      }
    } finally {
      pool.shutdownNow();
    }
    proxy.plan(FaultPlan.none());
    assertTrue(proxy.injectedFaults() > 0 && proxy.injected(Fault.DROP_RESPONSE) >= 3,
        "faults were injected: " + proxy.injectedFaults() + ", lost completion answers: "
            + proxy.injected(Fault.DROP_RESPONSE));
    for (int i = 0; i < sources.size(); i++) {
      assertEquals(WriteMountTest.sha(sources.get(i)), s3Sha("ckpt/step-" + i + ".bin"), "step-" + i);
    }
    assertEquals(0, metrics.counter(MetricNames.UPLOAD_FAILURES).getCount());
    assertTrue(metrics.counter(MetricNames.UPLOAD_PARTS_WHILE_WRITING).getCount() > 0,
        "parts went up while cp was still writing");
  }
}
