package io.s3cache.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.embedded.EmbeddedS3Server;
import io.s3cache.metrics.MetricNames;
import io.s3cache.s3.ObjectClientException.Kind;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;

/** {@link SdkObjectClient} against a real S3 server (S3Proxy) on 127.0.0.1. */
class SdkObjectClientTest {

  static final String BUCKET = "data";
  static final String BIG = "blobs/big.bin";
  static final byte[] BIG_BYTES = randomBytes(1024 * 1024 + 123, 42);

  @TempDir static Path dataDir;
  static EmbeddedS3Server server;
  static String bigEtag;
  static Instant uploadedAfter;

  MetricRegistry metrics = new MetricRegistry();
  ObjectClient client;

  @BeforeAll
  static void startServer() throws Exception {
    server = EmbeddedS3Server.start(dataDir);
    server.createBucket(BUCKET);
    uploadedAfter = Instant.now().minusSeconds(2); // Last-Modified has one-second resolution
    for (String key : List.of("a/1", "a/2", "a/b/3", "a/c/4", "top")) {
      put(key, key.getBytes());
    }
    for (int i = 0; i < 25; i++) {
      put(String.format("paged/k%02d", i), new byte[] {(byte) i});
    }
    bigEtag = put(BIG, BIG_BYTES);
  }

  @AfterAll
  static void stopServer() {
    server.close();
  }

  @AfterEach
  void closeClient() {
    if (client != null) {
      client.close();
    }
  }

  static String put(String key, byte[] content) {
    return server.client().putObject(b -> b.bucket(BUCKET).key(key), RequestBody.fromBytes(content)).eTag();
  }

  /** The client the read path's GETs go through; {@link DirectGetClientTest} runs every test with its own. */
  S3Config.GetClient getClient() {
    return S3Config.GetClient.SDK;
  }

  S3Config config() {
    return S3Config.defaults().withGetClient(getClient())
        .withEndpoint(server.endpoint())
        .withPathStyle(true)
        .withChecksumMode(S3Config.ChecksumMode.WHEN_REQUIRED)
        .withBackoff(Duration.ofMillis(1), Duration.ofMillis(20));
  }

  ObjectClient client(String bucket, S3Config config) {
    client = ObjectClients.create(bucket, config, metrics, server.credentials());
    return client;
  }

  ObjectClient client() {
    return client(BUCKET, config());
  }

  long attempts() {
    return metrics.counter(MetricNames.S3_ATTEMPTS).getCount();
  }

  // ---- list

  @Test
  void listWithDelimiterSplitsObjectsFromCommonPrefixes() throws Exception {
    ListPage page = client().list("a/", "/", null, 1000);
    assertEquals(List.of("a/1", "a/2"), page.objects().stream().map(ObjectMeta::key).toList());
    assertEquals(List.of("a/b/", "a/c/"), page.commonPrefixes());
    assertNull(page.nextContinuationToken());
    ObjectMeta first = page.objects().get(0);
    assertEquals(3, first.size());
    assertTrue(first.etag().startsWith("\"") && first.etag().endsWith("\""), first.etag());

    ListPage root = client.list("", "/", null, 1000);
    assertEquals(List.of("top"), root.objects().stream().map(ObjectMeta::key).toList());
    assertEquals(List.of("a/", "blobs/", "paged/"), root.commonPrefixes());
  }

  @Test
  void listWithoutDelimiterIsFlat() throws Exception {
    ListPage page = client().list("a/", null, null, 1000);
    assertEquals(
        List.of("a/1", "a/2", "a/b/3", "a/c/4"), page.objects().stream().map(ObjectMeta::key).toList());
    assertEquals(List.of(), page.commonPrefixes());
  }

  @Test
  void paginationVisitsEveryKeyExactlyOnce() throws Exception {
    client();
    List<String> seen = new ArrayList<>();
    int pages = 0;
    String token = null;
    do {
      ListPage page = client.list("paged/", "/", token, 7);
      assertTrue(page.objects().size() <= 7);
      page.objects().forEach(o -> seen.add(o.key()));
      token = page.nextContinuationToken();
      pages++;
    } while (token != null);
    assertEquals(4, pages);
    assertEquals(25, seen.size());
    assertEquals(25, new HashSet<>(seen).size());
    for (int i = 0; i < 25; i++) {
      assertTrue(seen.contains(String.format("paged/k%02d", i)));
    }
    assertEquals(4, metrics.timer(MetricNames.S3_LIST).getCount());

    ListPage all = Listings.listAll(client, "paged/", "/", 7);
    assertEquals(seen, all.objects().stream().map(ObjectMeta::key).toList());
  }

  @Test
  void listOfMissingBucketIsNoSuchBucket() {
    ObjectClientException e =
        assertThrows(ObjectClientException.class, () -> client("nope", config()).list("", "/", null, 10));
    assertEquals(Kind.NO_SUCH_BUCKET, e.kind());
  }

  // ---- head

  @Test
  void headReturnsSizeEtagAndLastModified() throws Exception {
    ObjectMeta meta = client().head(BIG);
    assertEquals(BIG, meta.key());
    assertEquals(BIG_BYTES.length, meta.size());
    assertEquals(bigEtag, meta.etag());
    assertTrue(meta.etag().startsWith("\"") && meta.etag().endsWith("\""), meta.etag());
    assertNotNull(meta.lastModified());
    assertFalse(meta.lastModified().isBefore(uploadedAfter), meta.lastModified().toString());
    assertFalse(meta.lastModified().isAfter(Instant.now().plusSeconds(2)), meta.lastModified().toString());
    assertEquals(1, metrics.timer(MetricNames.S3_HEAD).getCount());
  }

  @Test
  void headOfMissingKeyIsNotFound() {
    ObjectClientException e = assertThrows(ObjectClientException.class, () -> client().head("no/such/key"));
    assertEquals(Kind.NOT_FOUND, e.kind());
    assertEquals("object 'no/such/key' not found in bucket 'data'", e.getMessage());
    assertEquals(0, metrics.counter(MetricNames.S3_ERRORS).getCount(), "a missing key is an answer, not a failed request");
  }

  // ---- getRange

  @Test
  void getRangeIsByteExactInsideAtStartAndAtTheLastByte() throws Exception {
    client();
    assertRange(1000, 5000);
    assertRange(0, 4096);
    assertRange(BIG_BYTES.length - 777, 777); // ends exactly at the last byte
    assertRange(BIG_BYTES.length - 1, 1);
    assertRange(0, BIG_BYTES.length);
    assertRange(300_000, 200_000); // several 64 KiB chunks
  }

  private void assertRange(long offset, int length) throws Exception {
    ByteBuffer direct = ByteBuffer.allocateDirect(length);
    client.getRange(BIG, bigEtag, offset, direct);
    assertEquals(length, direct.position());
    assertFalse(direct.hasRemaining());
    byte[] got = new byte[length];
    direct.flip().get(got);
    assertArrayEquals(Arrays.copyOfRange(BIG_BYTES, (int) offset, (int) offset + length), got);

    // A heap buffer that is a slice with a non-zero position: fills [position, limit) only.
    ByteBuffer heap = ByteBuffer.allocate(length + 20).position(5).slice().position(3).limit(length + 3);
    client.getRange(BIG, bigEtag, offset, heap);
    assertEquals(length + 3, heap.position());
    byte[] got2 = new byte[length];
    heap.position(3);
    heap.get(got2);
    assertArrayEquals(Arrays.copyOfRange(BIG_BYTES, (int) offset, (int) offset + length), got2);
  }

  @Test
  void getRangeWithoutEtagReadsCurrentVersion() throws Exception {
    ByteBuffer dst = ByteBuffer.allocate(3);
    client().getRange("a/1", null, 0, dst);
    assertArrayEquals("a/1".getBytes(), dst.array());
  }

  @Test
  void getRangeWithWrongEtagIsPreconditionFailed() {
    ByteBuffer dst = ByteBuffer.allocateDirect(100);
    ObjectClientException e =
        assertThrows(
            ObjectClientException.class,
            () -> client().getRange(BIG, "\"0123456789abcdef0123456789abcdef\"", 0, dst));
    assertEquals(Kind.PRECONDITION_FAILED, e.kind());
    assertEquals(0, dst.position());
  }

  @Test
  void getRangePastTheEndFailsClearlyAndLeavesTheBufferUnfilled() {
    client();
    ByteBuffer dst = ByteBuffer.allocate(20);
    ObjectClientException e =
        assertThrows(ObjectClientException.class, () -> client.getRange(BIG, bigEtag, BIG_BYTES.length - 10, dst));
    assertEquals(Kind.OTHER, e.kind());
    assertTrue(e.getMessage().contains("past"), e.getMessage());
    assertTrue(e.getMessage().contains(BIG), e.getMessage());
    assertEquals(0, dst.position());
    assertEquals(1, attempts(), "a range past the end is not retried");

    ByteBuffer beyond = ByteBuffer.allocate(10);
    ObjectClientException e2 =
        assertThrows(ObjectClientException.class, () -> client.getRange(BIG, bigEtag, BIG_BYTES.length + 5, beyond));
    assertEquals(Kind.OTHER, e2.kind());
    assertTrue(e2.getMessage().contains("past the end"), e2.getMessage());
    assertEquals(0, beyond.position());
  }

  @Test
  void getRangeOfMissingKeyIsNotFound() {
    ObjectClientException e =
        assertThrows(
            ObjectClientException.class, () -> client().getRange("missing", null, 0, ByteBuffer.allocate(4)));
    assertEquals(Kind.NOT_FOUND, e.kind());
  }

  // ---- checkBucket

  @Test
  void checkBucketPassesForAnExistingBucket() throws Exception {
    client().checkBucket();
  }

  @Test
  void checkBucketReportsMissingBucket() {
    ObjectClientException e =
        assertThrows(ObjectClientException.class, () -> client("nope", config()).checkBucket());
    assertEquals(Kind.NO_SUCH_BUCKET, e.kind());
    assertEquals("bucket 'nope' does not exist at " + server.endpoint(), e.getMessage());
  }

  @Test
  void checkBucketReportsWrongSecretAsAccessDenied() {
    client =
        ObjectClients.create(
            BUCKET,
            config(),
            metrics,
            StaticCredentialsProvider.create(AwsBasicCredentials.create(server.accessKey(), "wrong-secret")));
    ObjectClientException e = assertThrows(ObjectClientException.class, client::checkBucket);
    assertEquals(Kind.ACCESS_DENIED, e.kind());
    assertTrue(e.getMessage().startsWith("access denied to bucket 'data' at " + server.endpoint()), e.getMessage());
    assertFalse(e.getMessage().contains("\n"));
  }

  @Test
  void checkBucketReportsClosedPortAsUnreachableQuickly() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    URI endpoint = URI.create("http://127.0.0.1:" + closedPort);
    S3Config config = config().withEndpoint(endpoint).withMaxAttempts(2)
        .withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(2));
    long start = System.nanoTime();
    ObjectClientException e =
        assertThrows(ObjectClientException.class, () -> client(BUCKET, config).checkBucket());
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    assertEquals(Kind.UNREACHABLE, e.kind());
    assertEquals("cannot reach S3 at " + endpoint + ": connection refused (after 2 attempts)", e.getMessage());
    assertTrue(took.compareTo(Duration.ofSeconds(5)) < 0, "took " + took);
    assertEquals(2, attempts());
    assertEquals(1, metrics.counter(MetricNames.S3_ERRORS).getCount());
  }

  // ---- metrics

  @Test
  void getTimerCountsOneGetPerCall() throws Exception {
    client();
    for (int i = 1; i <= 3; i++) {
      client.getRange(BIG, bigEtag, i * 1000L, ByteBuffer.allocate(500));
      assertEquals(i, metrics.timer(MetricNames.S3_GET).getCount());
    }
    assertThrows(ObjectClientException.class, () -> client.getRange(BIG, "\"x\"", 0, ByteBuffer.allocate(10)));
    assertEquals(4, metrics.timer(MetricNames.S3_GET).getCount());
    assertEquals(1, metrics.counter(MetricNames.S3_ERRORS).getCount());
    assertEquals(1500, metrics.counter(MetricNames.S3_BYTES).getCount());
    assertEquals(4, attempts());
  }

  static byte[] randomBytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }
}
