package io.s3cache.embedded;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The proxy keeps body-less requests on one connection (issue 14: plan and preload rates measured
 * through it were bounded by a new connection and thread per request, where S3 keeps them alive).
 */
class FaultInjectingProxyTest {

  @TempDir Path dataDir;

  @Test
  void getsHeadsAndListsThroughTheProxyShareOneKeptAliveConnection() throws Exception {
    try (EmbeddedS3Server server = EmbeddedS3Server.start(dataDir);
        FaultInjectingProxy proxy = FaultInjectingProxy.start(server.endpoint())) {
      server.createBucket("bkt");
      byte[] content = new byte[300_000];
      new java.util.Random(7).nextBytes(content);
      server.client().putObject(r -> r.bucket("bkt").key("a/x"), RequestBody.fromBytes(content));
      proxy.plan(FaultPlan.none().with(FaultInjectingProxy.Fault.LATENCY, 1.0)
          .withLatency(Duration.ofMillis(1)));
      try (S3Client client = EmbeddedS3Server.clientFor(proxy.endpoint())) {
        for (int i = 0; i < 20; i++) {
          assertArrayEquals(content,
              client.getObjectAsBytes(r -> r.bucket("bkt").key("a/x")).asByteArray());
          assertEquals(content.length,
              client.headObject(r -> r.bucket("bkt").key("a/x")).contentLength());
          assertEquals(1, client.listObjectsV2(r -> r.bucket("bkt").prefix("a/")).keyCount());
        }
        // A request with a body still works (forwarded with Connection: close).
        client.putObject(r -> r.bucket("bkt").key("a/y"), RequestBody.fromBytes(content));
        assertArrayEquals(content,
            client.getObjectAsBytes(r -> r.bucket("bkt").key("a/y")).asByteArray());
      }
      assertEquals(62, proxy.requests());
      assertTrue(proxy.connections() <= 3, "connections: " + proxy.connections());
    }
  }
}
