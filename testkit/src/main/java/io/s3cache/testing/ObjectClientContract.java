package io.s3cache.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.s3cache.demo.SampleDataset;
import io.s3cache.s3.ListPage;
import io.s3cache.s3.Listings;
import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectClientException;
import io.s3cache.s3.ObjectMeta;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The S3 behaviour s3cache relies on, as one body of tests run against each store we have: the real
 * S3 servers (S3Proxy embedded in the JVM, and LocalStack where a Docker engine exists) through the
 * SDK client, and the fakes unit tests use ({@link InMemoryObjectClient}, and
 * {@link FaultInjectingObjectClient} passing everything through), so a fake cannot drift from S3.
 */
public abstract class ObjectClientContract {

  /**
   * A client of {@code bucket} on the store under test (a real server's client retries at most
   * {@code maxAttempts} times). {@link #bucket()} exists and starts empty; other buckets do not exist.
   */
  protected abstract ObjectClient client(String bucket, int maxAttempts);

  /** Writes an object into {@link #bucket()} the way another writer would, not through the client. */
  protected abstract void put(String key, byte[] bytes);

  protected abstract String bucket();

  private ObjectClient client() {
    return client(bucket(), 2);
  }

  @Test
  public void listWithDelimiterAndPagination() throws Exception {
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
  public void headAndRangedGetsWithIfMatch() throws Exception {
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
  public void missingBucket() {
    try (ObjectClient c = client("no-such-bucket-here", 1)) {
      assertEquals(ObjectClientException.Kind.NO_SUCH_BUCKET,
          assertThrows(ObjectClientException.class, c::checkBucket).kind());
    }
  }
}
