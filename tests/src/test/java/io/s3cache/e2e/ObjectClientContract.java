package io.s3cache.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.demo.SampleDataset;
import io.s3cache.s3.ListPage;
import io.s3cache.s3.Listings;
import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectClientException;
import io.s3cache.s3.ObjectClients;
import io.s3cache.s3.ObjectMeta;
import io.s3cache.s3.S3Config;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The S3 behaviour s3cache relies on, as one body of tests run against each real S3 server we
 * have: S3Proxy embedded in the JVM, and LocalStack where a Docker engine exists.
 */
abstract class ObjectClientContract {

  /** A started server with an empty bucket {@link #bucket()}. */
  abstract URI endpoint();

  abstract AwsCredentialsProvider credentials();

  abstract S3Client sdk();

  abstract String bucket();

  private ObjectClient client() {
    S3Config config = S3Config.defaults().withEndpoint(endpoint()).withPathStyle(true)
        .withChecksumMode(S3Config.ChecksumMode.WHEN_REQUIRED).withMaxAttempts(2);
    return ObjectClients.create(bucket(), config, new MetricRegistry(), credentials());
  }

  private void put(String key, byte[] bytes) {
    sdk().putObject(b -> b.bucket(bucket()).key(key), RequestBody.fromBytes(bytes));
  }

  @Test
  void listWithDelimiterAndPagination() throws Exception {
    for (int i = 0; i < 12; i++) {
      put("contract/list/f" + i, new byte[] {(byte) i});
    }
    put("contract/list/sub/x", new byte[1]);
    put("contract/list/sub2/y", new byte[1]);
    try (ObjectClient c = client()) {
      ListPage all = Listings.listAll(c, "contract/list/", "/", 5);
      assertEquals(12, all.objects().size());
      assertEquals(List.of("contract/list/sub/", "contract/list/sub2/"), all.commonPrefixes());
      ListPage first = c.list("contract/list/", "/", null, 5);
      assertEquals(5, first.objects().size() + first.commonPrefixes().size());
      assertTrue(first.nextContinuationToken() != null);
    }
  }

  @Test
  void headAndRangedGetsWithIfMatch() throws Exception {
    byte[] content = SampleDataset.content(3 * 1024 * 1024 + 17, 3);
    put("contract/obj", content);
    try (ObjectClient c = client()) {
      ObjectMeta meta = c.head("contract/obj");
      assertEquals(content.length, meta.size());
      for (long[] range : new long[][] {{0, 100}, {1_000_000, 1 << 20}, {content.length - 17, 17}}) {
        ByteBuffer dst = ByteBuffer.allocateDirect((int) range[1]);
        c.getRange("contract/obj", meta.etag(), range[0], dst);
        byte[] got = new byte[(int) range[1]];
        dst.flip().get(got);
        assertArrayEquals(Arrays.copyOfRange(content, (int) range[0], (int) (range[0] + range[1])), got);
      }
      put("contract/obj", new byte[] {1, 2, 3});
      ObjectClientException changed = assertThrows(ObjectClientException.class,
          () -> c.getRange("contract/obj", meta.etag(), 0, ByteBuffer.allocate(3)));
      assertEquals(ObjectClientException.Kind.PRECONDITION_FAILED, changed.kind());
      assertEquals(ObjectClientException.Kind.NOT_FOUND,
          assertThrows(ObjectClientException.class, () -> c.head("contract/missing")).kind());
    }
  }

  @Test
  void missingBucket() {
    S3Config config = S3Config.defaults().withEndpoint(endpoint()).withPathStyle(true)
        .withChecksumMode(S3Config.ChecksumMode.WHEN_REQUIRED).withMaxAttempts(1);
    try (ObjectClient c = ObjectClients.create("no-such-bucket-here", config, new MetricRegistry(), credentials())) {
      assertEquals(ObjectClientException.Kind.NO_SUCH_BUCKET,
          assertThrows(ObjectClientException.class, c::checkBucket).kind());
    }
  }
}
