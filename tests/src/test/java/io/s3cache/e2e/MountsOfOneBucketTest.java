package io.s3cache.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import io.s3cache.embedded.FaultInjectingProxy;
import io.s3cache.fuse.MountTable;
import io.s3cache.metrics.MetricNames;
import io.s3cache.mount.BucketMount;
import io.s3cache.mount.CacheRuntime;
import io.s3cache.mount.MountSpec;
import io.s3cache.s3.MountCredentialsProvider;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 15 items 6 and 7: two mounts of one bucket in one daemon (one shared cache), each with
 * settings and credentials of its own. Block GETs used the first mount's client: the second
 * mount's request_timeout and max_attempts were ignored (301 s to EIO on a stalled store with
 * request_timeout=2s, max_attempts=2), and its credentials too. Real FUSE mounts, a real S3 server
 * on 127.0.0.1, a fault-injecting proxy in front of it.
 */
class MountsOfOneBucketTest {

  @TempDir Path dir;
  private MountFixture fx;
  private CacheRuntime runtime;
  private final MetricRegistry metrics = new MetricRegistry();
  private final List<BucketMount> mounts = new ArrayList<>();
  private FaultInjectingProxy proxy;

  @BeforeEach
  void start() throws Exception {
    fx = new MountFixture(dir);
    fx.server.createBucket("shared");
    runtime = CacheRuntime.open(fx.settings("shared"), metrics);
  }

  @AfterEach
  void stop() throws Exception {
    if (proxy != null) {
      proxy.outage(FaultInjectingProxy.Outage.NONE);
    }
    for (BucketMount m : mounts) {
      m.close();
    }
    runtime.close();
    if (proxy != null) {
      proxy.close();
    }
    fx.close();
    for (BucketMount m : mounts) {
      if (MountTable.isMounted(m.mountPoint())) {
        throw new AssertionError("left mounted: " + m.mountPoint());
      }
    }
  }

  private BucketMount mount(String name, String endpoint, Map<SettingKey, String> overrides,
      MountCredentialsProvider credentials) throws Exception {
    return mount(name, endpoint, overrides, credentials, List.of());
  }

  private BucketMount mount(String name, String endpoint, Map<SettingKey, String> overrides,
      MountCredentialsProvider credentials, List<String> options) throws Exception {
    Settings settings = fx.settings("shared").set(SettingKey.ENDPOINT, endpoint);
    overrides.forEach(settings::set);
    Path mnt = Files.createDirectories(dir.resolve("mnt-" + name));
    MountSpec spec = MountSpec.from("s3://shared/data", mnt, settings, options).withCache(runtime.config());
    BucketMount m = BucketMount.attach(spec, runtime, metrics, credentials);
    mounts.add(m);
    return m;
  }

  /**
   * An object one mount read is in the shared cache; another mount whose credentials S3 refuses
   * does not get it from there. Once S3 accepts it again, it reads the cached blocks (one HEAD, no
   * GET).
   */
  @Test
  void cachedBlocksReachAMountOnlyIfItsOwnCredentialsMayReadThem() throws Exception {
    byte[] secret = "blocks fetched with alice's keys\n".getBytes(StandardCharsets.UTF_8);
    fx.put("shared", "data/secret.bin", secret);
    fx.server.acceptKeys("alice", "alice-secret");
    fx.server.acceptKeys("bob", "bob-secret");
    String endpoint = fx.server.endpoint().toString();
    BucketMount alice = mount("alice", endpoint, Map.of(), MountCredentialsProvider.keys("alice", "alice-secret", null));
    BucketMount bob = mount("bob", endpoint, Map.of(), MountCredentialsProvider.keys("bob", "bob-secret", null),
        List.of("rw"));
    try (var names = Files.list(bob.mountPoint())) {
      assertEquals(1, names.count()); // bob knows the file (its metadata is cached) before he is refused
    }
    assertArrayEquals(secret, Files.readAllBytes(alice.mountPoint().resolve("secret.bin")));
    long gets = metrics.timer(MetricNames.S3_GET).getCount();

    fx.server.revokeKeys("bob");
    IOException refused = assertThrows(IOException.class, () -> Files.readAllBytes(bob.mountPoint().resolve("secret.bin")),
        "the blocks are cached, but S3 refuses bob");
    assertEquals("Permission denied", refused.getMessage(), "EACCES: " + refused);
    // Nor through the staged copy that writing into the existing file starts from.
    IOException appended = assertThrows(IOException.class, () -> Files.write(bob.mountPoint().resolve("secret.bin"),
        new byte[] {'!'}, java.nio.file.StandardOpenOption.APPEND));
    assertTrue(appended instanceof java.nio.file.AccessDeniedException || "Permission denied".equals(appended.getMessage()),
        "EACCES: " + appended);
    assertArrayEquals(secret, Files.readAllBytes(alice.mountPoint().resolve("secret.bin")));

    fx.server.acceptKeys("bob", "bob-secret");
    long heads = bob.requests().head();
    assertArrayEquals(secret, Files.readAllBytes(bob.mountPoint().resolve("secret.bin")));
    assertArrayEquals(secret, Files.readAllBytes(bob.mountPoint().resolve("secret.bin")));
    assertEquals(heads + 1, bob.requests().head(), "one HEAD asks S3 for bob, once per version");
    assertEquals(gets, metrics.timer(MetricNames.S3_GET).getCount(), "blocks stay shared: no GET for bob");
    assertEquals(0, bob.requests().get());
    fx.server.revokeKeys("alice");
    fx.server.revokeKeys("bob");
  }

  /**
   * A stalled store: the second mount's read fails with EIO after its own max_attempts attempts of
   * its own request_timeout, not the first mount's, and the kernel's immediate retry of the failed
   * read sends nothing more. Cached reads keep working. (Timing is not asserted; the count of
   * attempts bounds it.)
   */
  @Test
  void aStalledStoreFailsAReadWithinTheReadingMountsOwnBound() throws Exception {
    byte[] cached = new byte[100_000];
    byte[] uncached = new byte[100_000];
    new Random(7).nextBytes(cached);
    new Random(8).nextBytes(uncached);
    fx.put("shared", "data/cached.bin", cached);
    fx.put("shared", "data/uncached.bin", uncached);
    fx.put("shared", "data/uncached-too.bin", uncached);
    proxy = FaultInjectingProxy.start(fx.server.endpoint());
    String endpoint = proxy.endpoint().toString();
    // Mounted first, with the default request_timeout and max_attempts: its client was used for every block GET.
    BucketMount defaults = mount("defaults", endpoint, Map.of(),
        MountCredentialsProvider.shared(fx.server.credentials(), "the test's keys"));
    BucketMount quick = mount("quick", endpoint,
        Map.of(SettingKey.REQUEST_TIMEOUT, "1s", SettingKey.MAX_ATTEMPTS, "2", SettingKey.CONNECT_TIMEOUT, "1s"),
        MountCredentialsProvider.shared(fx.server.credentials(), "the test's keys"));
    for (BucketMount m : List.of(quick, defaults)) {
      try (var names = Files.list(m.mountPoint())) {
        assertEquals(3, names.count());
      }
    }
    assertArrayEquals(cached, Files.readAllBytes(quick.mountPoint().resolve("cached.bin")));

    proxy.outage(FaultInjectingProxy.Outage.STALL);
    int before = proxy.requests();
    long start = System.nanoTime();
    IOException e = assertThrows(IOException.class, () -> Files.readAllBytes(quick.mountPoint().resolve("uncached.bin")));
    long millis = (System.nanoTime() - start) / 1_000_000;
    System.out.println("stalled read failed after " + millis + " ms (bound 2 x 1 s + 0.1 s): " + e);
    assertEquals("Input/output error", e.getMessage(), "EIO: " + e);
    assertEquals(2, proxy.requests() - before, "max_attempts=2 of the reading mount, once: " + millis + " ms");
    assertArrayEquals(cached, Files.readAllBytes(quick.mountPoint().resolve("cached.bin")), "cached reads go on");

    // The defaults (request_timeout 9s, max_attempts 3): 3 attempts, within 27.3 s (was 5 x 30 s).
    before = proxy.requests();
    start = System.nanoTime();
    IOException d = assertThrows(IOException.class,
        () -> Files.readAllBytes(defaults.mountPoint().resolve("uncached-too.bin")));
    millis = (System.nanoTime() - start) / 1_000_000;
    System.out.println("stalled read with the defaults failed after " + millis + " ms (bound 27.3 s): " + d);
    assertEquals("Input/output error", d.getMessage(), "EIO: " + d);
    assertEquals(3, proxy.requests() - before, "the default max_attempts, once: " + millis + " ms");
  }
}
