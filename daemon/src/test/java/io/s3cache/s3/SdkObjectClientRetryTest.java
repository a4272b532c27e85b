package io.s3cache.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.embedded.EmbeddedS3Server;
import io.s3cache.metrics.MetricNames;
import io.s3cache.s3.ObjectClientException.Kind;
import io.s3cache.embedded.FaultInjectingProxy;
import io.s3cache.embedded.FaultInjectingProxy.Fault;
import io.s3cache.embedded.FaultInjectingProxy.Outage;
import io.s3cache.embedded.FaultPlan;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;

/**
 * Retries through {@link FaultInjectingProxy}: throttling, 500s, resets, truncated and stalled
 * bodies, unanswered requests, and an upstream that is unreachable for a while.
 */
class SdkObjectClientRetryTest {

  static final String BUCKET = "data";
  static final String KEY = "obj.bin";
  static final byte[] CONTENT = new byte[256 * 1024];
  /** Short, so that stalls are cut off quickly; ample for a 256 KiB answer on loopback. */
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(2);

  @TempDir static Path dataDir;
  static EmbeddedS3Server server;
  static String etag;

  FaultInjectingProxy proxy;
  MetricRegistry metrics = new MetricRegistry();
  ObjectClient client;

  @BeforeAll
  static void startServer() throws Exception {
    new Random(7).nextBytes(CONTENT);
    server = EmbeddedS3Server.start(dataDir);
    server.createBucket(BUCKET);
    etag = server.client().putObject(b -> b.bucket(BUCKET).key(KEY), RequestBody.fromBytes(CONTENT)).eTag();
  }

  @AfterAll
  static void stopServer() {
    server.close();
  }

  /** The client the read path's GETs go through; {@link DirectGetClientRetryTest} runs every test with its own. */
  S3Config.GetClient getClient() {
    return S3Config.GetClient.SDK;
  }

  @BeforeEach
  void startProxy() throws Exception {
    proxy = FaultInjectingProxy.start(server.endpoint());
    S3Config config =
        S3Config.defaults().withGetClient(getClient())
            .withEndpoint(proxy.endpoint())
            .withPathStyle(true)
            .withChecksumMode(S3Config.ChecksumMode.WHEN_REQUIRED)
            .withMaxAttempts(4)
            .withBackoff(Duration.ofMillis(1), Duration.ofMillis(10))
            .withTimeouts(Duration.ofSeconds(1), REQUEST_TIMEOUT);
    client = ObjectClients.create(BUCKET, config, metrics, server.credentials());
  }

  @AfterEach
  void stop() throws Exception {
    client.close();
    proxy.close();
  }

  long attempts() {
    return metrics.counter(MetricNames.S3_ATTEMPTS).getCount();
  }

  void assertReadsCorrectly(long offset, int length) throws Exception {
    ByteBuffer dst = ByteBuffer.allocateDirect(length);
    client.getRange(KEY, etag, offset, dst);
    assertEquals(length, dst.position());
    byte[] got = new byte[length];
    dst.flip().get(got);
    assertArrayEquals(Arrays.copyOfRange(CONTENT, (int) offset, (int) offset + length), got);
  }

  @Test
  void slowDownIsRetried() throws Exception {
    proxy.enqueue(Fault.SLOW_DOWN, 2);
    assertReadsCorrectly(1000, 100_000);
    assertEquals(3, attempts());
    assertEquals(3, proxy.requests());
    assertEquals(1, metrics.timer(MetricNames.S3_GET).getCount());
    assertEquals(0, metrics.counter(MetricNames.S3_ERRORS).getCount());
  }

  @Test
  void connectionResetIsRetried() throws Exception {
    proxy.enqueue(Fault.RESET, 2);
    assertReadsCorrectly(0, CONTENT.length);
    assertEquals(3, attempts());
    assertEquals(1, metrics.timer(MetricNames.S3_GET).getCount());
  }

  @Test
  void truncatedBodyIsRetriedAndNeverPartiallyFilled() throws Exception {
    proxy.enqueue(Fault.TRUNCATE_BODY);
    assertReadsCorrectly(4096, 200_000);
    assertEquals(2, attempts());
    assertEquals(1, metrics.timer(MetricNames.S3_GET).getCount());
  }

  /** A streaming fill hands bytes to readers as they arrive: a retry must resume above them. */
  @Test
  void truncatedBodyResumesAboveTheBytesAlreadyToldAndNeverGoesBack() throws Exception {
    proxy.enqueue(Fault.TRUNCATE_BODY);
    int length = 200_000;
    ByteBuffer dst = ByteBuffer.allocateDirect(length);
    List<Integer> told = new ArrayList<>();
    client.getRange(KEY, etag, 4096, dst, told::add);
    assertEquals(2, attempts());
    assertEquals(length, dst.position());
    byte[] got = new byte[length];
    dst.flip().get(got);
    assertArrayEquals(Arrays.copyOfRange(CONTENT, 4096, 4096 + length), got);
    for (int i = 1; i < told.size(); i++) {
      assertTrue(told.get(i) > told.get(i - 1), "told " + told);
    }
    assertEquals(length, told.get(told.size() - 1));
    assertTrue(told.get(0) < length, "the first attempt's bytes were told before the body broke off");
  }

  @Test
  void persistentSlowDownFailsAsServerErrorAfterMaxAttempts() {
    proxy.enqueue(Fault.SLOW_DOWN, 10);
    ByteBuffer dst = ByteBuffer.allocate(1000);
    ObjectClientException e =
        assertThrows(ObjectClientException.class, () -> client.getRange(KEY, etag, 0, dst));
    assertEquals(Kind.SERVER_ERROR, e.kind());
    assertTrue(e.getMessage().contains("503 SlowDown"), e.getMessage());
    assertTrue(e.getMessage().contains("after 4 attempts"), e.getMessage());
    assertEquals(4, attempts());
    assertEquals(0, dst.position());
    assertEquals(1, metrics.counter(MetricNames.S3_ERRORS).getCount());
    assertEquals(1, metrics.timer(MetricNames.S3_GET).getCount());
  }

  @Test
  void persistentTruncationFailsAsServerErrorWithoutPartialFill() {
    proxy.enqueue(Fault.TRUNCATE_BODY, 10);
    ByteBuffer dst = ByteBuffer.allocate(100_000);
    ObjectClientException e =
        assertThrows(ObjectClientException.class, () -> client.getRange(KEY, etag, 0, dst));
    assertEquals(Kind.SERVER_ERROR, e.kind());
    assertEquals(0, dst.position());
    assertEquals(4, attempts());
  }

  @Test
  void headAndListAreRetriedToo() throws Exception {
    proxy.enqueue(Fault.SLOW_DOWN, Fault.RESET);
    assertEquals(CONTENT.length, client.head(KEY).size());
    assertEquals(3, attempts());
    proxy.enqueue(Fault.SLOW_DOWN);
    assertEquals(1, client.list("", "/", null, 10).objects().size());
    assertEquals(5, attempts());
  }

  @Test
  void internalErrorIsRetried() throws Exception {
    proxy.enqueue(Fault.INTERNAL_ERROR, 2);
    assertReadsCorrectly(0, 1000);
    assertEquals(3, attempts());
    assertEquals(2, proxy.injected(Fault.INTERNAL_ERROR));
  }

  @Test
  void persistentInternalErrorFailsAsServerError() {
    proxy.enqueue(Fault.INTERNAL_ERROR, 10);
    ObjectClientException e =
        assertThrows(ObjectClientException.class, () -> client.getRange(KEY, etag, 0, ByteBuffer.allocate(10)));
    assertEquals(Kind.SERVER_ERROR, e.kind());
    assertTrue(e.getMessage().contains("InternalError"), e.getMessage());
  }

  @Test
  void latencyDelaysButDoesNotFail() throws Exception {
    proxy.plan(FaultPlan.none().with(Fault.LATENCY, 1.0).withLatency(Duration.ofMillis(300)));
    long start = System.nanoTime();
    assertReadsCorrectly(0, 1000);
    assertTrue(System.nanoTime() - start >= 300_000_000L, "the proxy held the request back");
    assertEquals(1, attempts());
  }

  @Test
  void stalledBodyAndUnansweredRequestAreCutOffByTheRequestTimeoutAndRetried() throws Exception {
    proxy.enqueue(Fault.STALL_BODY, Fault.STALL);
    assertReadsCorrectly(0, CONTENT.length);
    assertEquals(3, attempts());
    assertEquals(1, proxy.injected(Fault.STALL_BODY));
    assertEquals(1, proxy.injected(Fault.STALL));
  }

  @Test
  void refusedUpstreamIsUnreachableAndComesBackOnTheSameEndpoint() throws Exception {
    proxy.outage(Outage.REFUSE);
    ObjectClientException e =
        assertThrows(ObjectClientException.class, () -> client.getRange(KEY, etag, 0, ByteBuffer.allocate(10)));
    assertEquals(Kind.UNREACHABLE, e.kind(), e.getMessage());
    assertEquals(0, proxy.requests(), "nothing reached the proxy");
    proxy.outage(Outage.NONE);
    assertReadsCorrectly(0, 1000);
  }

  @Test
  void stalledUpstreamFailsWithinTheAttemptsTimesTheRequestTimeout() throws Exception {
    proxy.outage(Outage.STALL);
    long start = System.nanoTime();
    ObjectClientException e =
        assertThrows(ObjectClientException.class, () -> client.getRange(KEY, etag, 0, ByteBuffer.allocate(10)));
    long millis = (System.nanoTime() - start) / 1_000_000;
    assertEquals(Kind.UNREACHABLE, e.kind(), e.getMessage());
    assertEquals(4, proxy.requests(), "every attempt reached the proxy");
    // A correctness bound (no hang), with room for a loaded machine: 4 attempts of 2 s each.
    assertTrue(millis < 3 * 4 * REQUEST_TIMEOUT.toMillis(), "failed after " + millis + " ms");
    proxy.outage(Outage.NONE);
    assertReadsCorrectly(0, 1000);
  }

  @Test
  void aSeededPlanFaultsTheSameRequestsEveryRun() throws Exception {
    FaultPlan plan = FaultPlan.none().with(Fault.SLOW_DOWN, 0.1).with(Fault.RESET, 0.1);
    List<Integer> first = attemptsPerRead(plan);
    List<Integer> second = attemptsPerRead(plan);
    assertEquals(first, second);
    assertTrue(first.stream().anyMatch(n -> n > 1), "some reads were faulted: " + first);
  }

  private List<Integer> attemptsPerRead(FaultPlan plan) throws Exception {
    proxy.plan(plan);
    List<Integer> perRead = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      long before = attempts();
      assertReadsCorrectly(i * 100, 100);
      perRead.add((int) (attempts() - before));
    }
    return perRead;
  }

  /**
   * Regression: a LIST or HEAD whose answer broke off (truncated, or stalled until the attempt
   * timed out) failed at once with "broke off: Socket closed" instead of being retried; found by
   * {@code s3cache bench --faults 0.1} (FaultBenchmark).
   */
  @Test
  void listAndHeadWithBrokenOrStalledAnswersAreRetried() throws Exception {
    for (Fault f : List.of(Fault.TRUNCATE_BODY, Fault.STALL_BODY)) {
      proxy.enqueue(f);
      assertEquals(1, client.list("", "/", null, 10).objects().size(), f.toString());
      proxy.enqueue(f);
      assertEquals(CONTENT.length, client.head(KEY).size(), f.toString());
    }
    // Each LIST took two attempts; a HEAD answer has no body, so cutting it off changes nothing.
    assertEquals(2 * 2 + 2, attempts());
  }
}
