package io.s3cache.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.s3cache.s3.ListPage;
import io.s3cache.s3.Listings;
import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectClientException;
import io.s3cache.s3.ObjectMeta;
import io.s3cache.testing.data.SampleDataset;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The S3 behaviour s3cache relies on, as one body of tests run against each store we have: the real
 * S3 servers (S3Proxy embedded in the JVM, and LocalStack where a Docker engine exists) through the
 * SDK client, and the fakes unit tests use ({@link InMemoryObjectClient}, and
 * {@link FaultInjectingObjectClient} passing everything through), so a fake cannot drift from S3.
 * Reads (LIST, HEAD, ranged GET with If-Match) and the write path's requests (PUT, multipart
 * upload, copy, delete), with the ETags S3 gives (the write path recognises a completed multipart
 * upload by its ETag).
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

  /** Five MiB: S3's smallest part but the last. */
  private static final int PART = 5 << 20;

  @Test
  public void putThenHeadAndGetReturnTheBytesUnderTheirMd5(@TempDir Path dir) throws Exception {
    byte[] content = SampleDataset.content(300_017, 5);
    Path file = staged(dir, new byte[11], content); // the object is a range of the staged file
    try (ObjectClient c = client()) {
      ObjectMeta put = c.put("contract/put", file, 11, content.length);
      assertEquals(content.length, put.size());
      assertEquals(S3Etags.ofBytes(content), put.etag());
      ObjectMeta head = c.head("contract/put");
      assertEquals(content.length, head.size());
      assertEquals(put.etag(), head.etag());
      assertArrayEquals(content, readAll(c, head));

      byte[] replaced = SampleDataset.content(1_000, 6);
      ObjectMeta again = c.put("contract/put", staged(dir, replaced), 0, replaced.length);
      assertEquals(S3Etags.ofBytes(replaced), again.etag());
      assertEquals(again.etag(), c.head("contract/put").etag());
      assertArrayEquals(replaced, readAll(c, c.head("contract/put")));
    }
  }

  @Test
  public void multipartCompleteJoinsThePartsInPartOrder(@TempDir Path dir) throws Exception {
    byte[] content = SampleDataset.content(PART + 1_000_003, 7);
    Path file = staged(dir, content);
    byte[] first = Arrays.copyOf(content, PART);
    byte[] last = Arrays.copyOfRange(content, PART, content.length);
    try (ObjectClient c = client()) {
      String id = c.createMultipart("contract/multipart");
      // Sent last part first: the object is the parts in part-number order, not in arrival order.
      String lastEtag = c.uploadPart("contract/multipart", id, 2, file, PART, last.length);
      String firstEtag = c.uploadPart("contract/multipart", id, 1, file, 0, PART);
      assertEquals(S3Etags.ofBytes(first), firstEtag);
      assertEquals(S3Etags.ofBytes(last), lastEtag);
      assertThrows(ObjectClientException.class, () -> c.head("contract/multipart"),
          "no object before the upload completes");

      ObjectMeta done = c.completeMultipart("contract/multipart", id, List.of(firstEtag, lastEtag),
          content.length);
      assertEquals(S3Etags.ofMultipart(List.of(firstEtag, lastEtag)), done.etag());
      assertTrue(done.etag().endsWith("-2\""), done.etag());
      assertNotEquals(S3Etags.ofBytes(content), done.etag(), "not a single PUT's MD5");
      ObjectMeta head = c.head("contract/multipart");
      assertEquals(content.length, head.size());
      assertEquals(done.etag(), head.etag());
      assertArrayEquals(content, readAll(c, head));
    }
  }

  @Test
  public void abortedMultipartLeavesNoObject(@TempDir Path dir) throws Exception {
    byte[] content = SampleDataset.content(1_000, 8);
    Path file = staged(dir, content);
    try (ObjectClient c = client()) {
      String id = c.createMultipart("contract/aborted");
      String etag = c.uploadPart("contract/aborted", id, 1, file, 0, content.length);
      c.abortMultipart("contract/aborted", id);
      assertEquals(ObjectClientException.Kind.NOT_FOUND,
          assertThrows(ObjectClientException.class, () -> c.head("contract/aborted")).kind());
      assertEquals(ObjectClientException.Kind.NOT_FOUND, assertThrows(ObjectClientException.class,
          () -> c.completeMultipart("contract/aborted", id, List.of(etag), content.length)).kind(),
          "S3 answers NoSuchUpload (404) for an aborted upload");
      assertEquals(List.of(), c.list("contract/aborted", null, null, 10).objects());
    }
  }

  @Test
  public void copyMakesASecondObjectAndAMissingSourceIsNotFound() throws Exception {
    byte[] content = SampleDataset.content(70_001, 9);
    put("contract/copy-from", content);
    try (ObjectClient c = client()) {
      ObjectMeta copy = c.copy("contract/copy-from", "contract/copy-to");
      assertEquals(content.length, copy.size());
      ObjectMeta head = c.head("contract/copy-to");
      assertEquals(copy.etag(), head.etag());
      assertArrayEquals(content, readAll(c, head));
      assertArrayEquals(content, readAll(c, c.head("contract/copy-from")), "the source stays");
      assertEquals(ObjectClientException.Kind.NOT_FOUND, assertThrows(ObjectClientException.class,
          () -> c.copy("contract/copy-missing", "contract/copy-never")).kind());
      assertThrows(ObjectClientException.class, () -> c.head("contract/copy-never"));
    }
  }

  @Test
  public void deleteRemovesTheKeyAndAMissingKeyIsNoError() throws Exception {
    put("contract/delete", new byte[] {1, 2, 3});
    try (ObjectClient c = client()) {
      c.delete("contract/delete");
      assertEquals(ObjectClientException.Kind.NOT_FOUND,
          assertThrows(ObjectClientException.class, () -> c.head("contract/delete")).kind());
      c.delete("contract/delete"); // S3 answers 204 for a key that is not there
      c.delete("contract/never-there");
    }
  }

  @Test
  public void putToAMissingBucket(@TempDir Path dir) throws Exception {
    Path file = staged(dir, new byte[] {1});
    try (ObjectClient c = client("no-such-bucket-here", 1)) {
      // (Not a DELETE: AWS answers NoSuchBucket, S3Proxy 204.)
      assertEquals(ObjectClientException.Kind.NO_SUCH_BUCKET,
          assertThrows(ObjectClientException.class, () -> c.put("k", file, 0, 1)).kind());
    }
  }

  /** A file of {@code pieces} one after another, as the write path stages one. */
  private static Path staged(Path dir, byte[]... pieces) throws IOException {
    Path file = Files.createTempFile(dir, "staged", ".bin");
    for (byte[] piece : pieces) {
      Files.write(file, piece, java.nio.file.StandardOpenOption.APPEND);
    }
    return file;
  }

  /** The whole object version {@code meta} names, by one ranged GET. */
  private static byte[] readAll(ObjectClient c, ObjectMeta meta) throws ObjectClientException {
    ByteBuffer dst = ByteBuffer.allocate((int) meta.size());
    c.getRange(meta.key(), meta.etag(), 0, dst);
    return Arrays.copyOf(dst.array(), dst.position());
  }
}
