package io.s3cache.write;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.embedded.EmbeddedS3Server;
import io.s3cache.embedded.FaultInjectingProxy;
import io.s3cache.embedded.FaultInjectingProxy.Fault;
import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectClientException;
import io.s3cache.s3.ObjectClients;
import io.s3cache.s3.ObjectMeta;
import io.s3cache.s3.S3Config;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.ResponseTransformer;

/**
 * {@link ObjectUploader} against S3Proxy through {@link FaultInjectingProxy}: single PUTs and multipart
 * uploads land exactly; a CompleteMultipartUpload whose answers are all lost (or whose retry finds
 * no such upload) is recognised as complete by the object's ETag instead of failing the writer.
 */
class ObjectUploaderTest {

  private static final String BUCKET = "uploads";
  private static final int MIB = 1 << 20;

  @TempDir static Path serverDir;
  static EmbeddedS3Server server;

  @TempDir Path dir;
  FaultInjectingProxy proxy;
  ObjectClient client;
  ExecutorService parts = Executors.newFixedThreadPool(4);
  ObjectUploader uploader;

  @BeforeAll
  static void startServer() throws Exception {
    server = EmbeddedS3Server.start(serverDir);
    server.createBucket(BUCKET);
  }

  @AfterAll
  static void stopServer() {
    server.close();
  }

  @BeforeEach
  void start() throws Exception {
    proxy = FaultInjectingProxy.start(server.endpoint());
    S3Config config = S3Config.defaults()
        .withEndpoint(proxy.endpoint())
        .withPathStyle(true)
        .withChecksumMode(S3Config.ChecksumMode.WHEN_REQUIRED)
        .withMaxAttempts(3)
        .withBackoff(Duration.ofMillis(1), Duration.ofMillis(10))
        .withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(10));
    client = ObjectClients.create(BUCKET, config, new MetricRegistry(), server.credentials());
    uploader = new ObjectUploader(client, WriteConfig.defaults().withMultipart(5 * MIB, 5 * MIB), parts);
  }

  @AfterEach
  void stop() throws Exception {
    client.close();
    proxy.close();
    parts.shutdownNow();
  }

  private Path file(int size, long seed) throws Exception {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return Files.write(dir.resolve("f" + seed), bytes);
  }

  private byte[] inS3(String key) {
    return server.client().getObject(b -> b.bucket(BUCKET).key(key), ResponseTransformer.toBytes()).asByteArray();
  }

  private static boolean isComplete(String requestLine) {
    return requestLine.startsWith("POST ") && requestLine.contains("uploadId=");
  }

  @Test
  void multipartEtagIsTheOneS3ProxyGivesAMultipartObject() throws Exception {
    Path f = file(11 * MIB, 1);
    ObjectMeta meta = uploader.upload("mp.bin", f, Files.size(f));
    assertTrue(meta.etag().replace("\"", "").endsWith("-3"), "three parts: " + meta.etag());
    assertArrayEquals(Files.readAllBytes(f), inS3("mp.bin"));
    // Recompute it from the parts' MD5s as ObjectUploader does when a completion's answer is lost.
    List<String> partMd5s = List.of(md5(f, 0, 5 * MIB), md5(f, 5 * MIB, 5 * MIB), md5(f, 10 * MIB, MIB));
    assertEquals(meta.etag().replace("\"", ""), ObjectUploader.multipartEtag(partMd5s));
  }

  @Test
  void aLostAnswerToCompleteMultipartIsStillASuccess() throws Exception {
    Path f = file(12 * MIB + 321, 2);
    // Every attempt's answer is lost (S3Proxy accepts a repeated completion, S3 may answer it
    // NoSuchUpload): the client gives up, yet the object is complete in S3.
    proxy.enqueueFor(ObjectUploaderTest::isComplete, Fault.DROP_RESPONSE, 100);
    ObjectMeta meta = uploader.upload("lost.bin", f, Files.size(f));
    assertEquals(3, proxy.injected(Fault.DROP_RESPONSE), "each of the three attempts lost its answer");
    assertEquals(Files.size(f), meta.size());
    assertArrayEquals(Files.readAllBytes(f), inS3("lost.bin"));
    assertEquals(meta.etag().replace("\"", ""),
        client.head("lost.bin").etag().replace("\"", ""), "the version the mount records is the one in S3");
  }

  @Test
  void aCompletionThatNeverHappenedStillFails() throws Exception {
    Path f = file(11 * MIB, 3);
    // Every attempt at completing is answered 500 without reaching the server: nothing is in S3.
    proxy.enqueueFor(ObjectUploaderTest::isComplete, Fault.INTERNAL_ERROR, 100);
    assertThrows(ObjectClientException.class, () -> uploader.upload("never.bin", f, Files.size(f)));
    assertFalse(server.client().listObjectsV2(b -> b.bucket(BUCKET).prefix("never")).hasContents());
  }

  @Test
  void anOlderObjectUnderTheKeyIsNotMistakenForThisUpload() throws Exception {
    Path older = file(11 * MIB, 4);
    uploader.upload("same.bin", older, Files.size(older));
    Path newer = file(11 * MIB, 5);
    proxy.enqueueFor(ObjectUploaderTest::isComplete, Fault.INTERNAL_ERROR, 100);
    assertThrows(ObjectClientException.class, () -> uploader.upload("same.bin", newer, Files.size(newer)));
    assertArrayEquals(Files.readAllBytes(older), inS3("same.bin"), "the older object is untouched");
  }

  @Test
  void partEtagsThatAreNotMd5sGiveNoExpectedEtag() {
    assertNull(ObjectUploader.multipartEtag(List.of("\"abc\"")));
    // MD5 of the one part's MD5 (that of no bytes), then the part count.
    assertEquals("59adb24ef3cdbe0297f05b395827453f-1",
        ObjectUploader.multipartEtag(List.of("\"d41d8cd98f00b204e9800998ecf8427e\"")));
  }

  private static String md5(Path f, int offset, int length) throws Exception {
    byte[] all = Files.readAllBytes(f);
    java.security.MessageDigest md = java.security.MessageDigest.getInstance("MD5");
    md.update(all, offset, length);
    return java.util.HexFormat.of().formatHex(md.digest());
  }
}
