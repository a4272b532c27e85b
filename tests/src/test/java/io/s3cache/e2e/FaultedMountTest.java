package io.s3cache.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.s3cache.config.SettingKey;
import io.s3cache.embedded.FaultInjectingProxy;
import io.s3cache.embedded.FaultInjectingProxy.Fault;
import io.s3cache.embedded.FaultInjectingProxy.Outage;
import io.s3cache.embedded.FaultPlan;
import io.s3cache.mount.BucketMount;
import io.s3cache.testing.data.PageCache;
import io.s3cache.testing.data.SampleDataset;
import io.s3cache.testing.data.TreeReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real FUSE mounts whose S3 traffic goes through {@link FaultInjectingProxy}: reads stay byte-exact
 * while a share of requests is faulted, and an unreachable S3 turns uncached reads into prompt
 * {@code EIO}s while cached data keeps reading and the mount recovers by itself.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FaultedMountTest {

  private static final int MiB = 1 << 20;

  private MountFixture fx;
  private FaultInjectingProxy proxy;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    fx = new MountFixture(dir);
    proxy = FaultInjectingProxy.start(fx.server.endpoint());
  }

  @AfterAll
  void stop() throws Exception {
    try {
      proxy.outage(Outage.NONE);
      proxy.plan(FaultPlan.none());
      fx.close();
    } finally {
      proxy.close();
    }
  }

  @Test
  void withTenPercentOfRequestsFaultedEveryFileReadsByteExact() throws Exception {
    fx.server.createBucket("faulty");
    SampleDataset data = SampleDataset.upload(fx.s3(), "faulty", "", 4, 6 * MiB + 12_345, 300, 41);
    proxy.plan(FaultPlan.mixed(0.10, 4242, Duration.ofMillis(200)));
    int before = proxy.requests();
    // Six attempts: a request fails only if all six are faulted (1e-6 at 10%). Stalls are cut off
    // after the 2 s request timeout, so the seven kinds of fault cost this test a few seconds.
    BucketMount m = fx.mount("s3://faulty", "faulty", Map.of(
        SettingKey.ENDPOINT, proxy.endpoint().toString(),
        SettingKey.BLOCK_SIZE, "1M",
        SettingKey.REQUEST_TIMEOUT, "2s",
        SettingKey.CONNECT_TIMEOUT, "1s",
        SettingKey.MAX_ATTEMPTS, "6"));
    try {
      assertEquals(data.items().size(), TreeReader.files(m.mountPoint()).size());
      ExecutorService pool = Executors.newFixedThreadPool(8);
      try {
        List<Future<String>> sums = new ArrayList<>();
        for (SampleDataset.Item item : data.items()) {
          sums.add(pool.submit(() -> TreeReader.sha256(m.mountPoint().resolve(item.key()))));
        }
        for (int i = 0; i < sums.size(); i++) {
          assertEquals(data.items().get(i).sha256(), sums.get(i).get(), data.items().get(i).key());
        }
      } finally {
        pool.shutdownNow();
      }
    } finally {
      proxy.plan(FaultPlan.none());
    }
    int requests = proxy.requests() - before;
    System.out.printf("10%% faults: %d requests, %d faulted:%s%n", requests, proxy.injectedFaults(), injectedByKind());
    for (Fault f : FaultPlan.mixed(0.1, 0, Duration.ZERO).rates().keySet()) {
      assertTrue(proxy.injected(f) > 0, "no request got " + f + " (" + requests + " requests)");
    }
  }

  @Test
  void whenS3IsUnreachableCachedDataReadsAndUncachedReadsFailPromptlyUntilItIsBack() throws Exception {
    fx.server.createBucket("outage");
    byte[] cached = SampleDataset.content(3 * MiB + 5, 51);
    byte[] b = SampleDataset.content(2 * MiB + 7, 52);
    byte[] c = SampleDataset.content(100_000, 53);
    byte[] x = SampleDataset.content(10, 54);
    fx.put("outage", "cached/a", cached);
    fx.put("outage", "uncached/b", b);
    fx.put("outage", "uncached/c", c);
    fx.put("outage", "other/x", x);
    int attempts = 2;
    Duration requestTimeout = Duration.ofSeconds(1);
    BucketMount m = fx.mount("s3://outage", "outage", Map.of(
        SettingKey.ENDPOINT, proxy.endpoint().toString(),
        SettingKey.BLOCK_SIZE, "1M",
        SettingKey.REQUEST_TIMEOUT, "1s",
        SettingKey.CONNECT_TIMEOUT, "1s",
        SettingKey.MAX_ATTEMPTS, Integer.toString(attempts),
        SettingKey.METADATA_TTL, "5m"));
    Path root = m.mountPoint();
    assertEquals(SampleDataset.sha256(cached), TreeReader.sha256(root.resolve("cached/a")));
    // Lists the root and uncached/ (so their entries are cached), but not other/.
    assertEquals(List.of("cached", "other", "uncached"), names(root));
    assertEquals(List.of("b", "c"), names(root.resolve("uncached")));
    // The worst case of one request: every attempt cut off by the request timeout (it bounds the
    // connect too), plus the backoff between attempts (at most 100 ms, 200 ms, ... each).
    long worstMillis = attempts * requestTimeout.toMillis() + 100L * ((1L << (attempts - 1)) - 1);
    // A read or lookup makes at most two requests in a row (LIST, then HEAD); three times that, plus
    // 5 s for a loaded machine, is a bound against a hang, not a performance figure.
    long boundMillis = 3 * 2 * worstMillis + 5_000;

    for (Outage outage : List.of(Outage.REFUSE, Outage.STALL)) {
      proxy.outage(outage);
      try {
        PageCache.drop(); // so the cached file's reads reach s3cache, not only the kernel's page cache
        assertEquals(SampleDataset.sha256(cached), TreeReader.sha256(root.resolve("cached/a")), outage + ": cached data");
        assertEio(boundMillis, outage + ": uncached block", () -> TreeReader.sha256(root.resolve("uncached/b")));
        assertEio(boundMillis, outage + ": uncached metadata", () -> Files.size(root.resolve("other/x")));
      } finally {
        proxy.outage(Outage.NONE);
      }
    }
    // A block whose fetch got no answer fails again at once for 2 s (MountSource: the kernel's
    // immediate retry must not wait the bound twice); a read-ahead fetch of b's later blocks may
    // have failed just before the outage ended, so the reads below wait that window out.
    Thread.sleep(2_500);
    // The same mount, without a remount: what failed reads now, and "other/x" was not cached as absent.
    assertEquals(SampleDataset.sha256(b), TreeReader.sha256(root.resolve("uncached/b")));
    assertEquals(SampleDataset.sha256(c), TreeReader.sha256(root.resolve("uncached/c")));
    assertEquals(SampleDataset.sha256(x), TreeReader.sha256(root.resolve("other/x")));
  }

  private static void assertEio(long boundMillis, String what, Executable read) {
    long start = System.nanoTime();
    IOException e = assertThrows(IOException.class, read, what);
    long millis = (System.nanoTime() - start) / 1_000_000;
    System.out.printf("%s: %s after %d ms (bound %d ms)%n", what, e.getMessage(), millis, boundMillis);
    assertTrue(String.valueOf(e.getMessage()).contains("Input/output error"), what + ": " + e);
    assertTrue(millis < boundMillis, what + ": failed after " + millis + " ms, bound " + boundMillis);
  }

  private static List<String> names(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  private String injectedByKind() {
    StringBuilder s = new StringBuilder();
    for (Fault f : Fault.values()) {
      s.append(' ').append(f).append('=').append(proxy.injected(f));
    }
    return s.toString();
  }
}
