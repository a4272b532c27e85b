package io.s3cache.bench;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * What the S3 server itself holds, asked over its own API (not through any mount): when an object
 * reached its full size, and whether its bytes are the ones written. A tool is only credited with
 * an upload once the server has the whole object.
 */
final class ObjectCheck {

  private static final long POLL_MILLIS = 100;
  private final S3Client s3;
  private final String bucket;

  ObjectCheck(S3Client s3, String bucket) {
    this.s3 = s3;
    this.bucket = bucket;
  }

  /**
   * Polls HEAD until {@code key} has {@code size} bytes and returns {@link System#nanoTime()} at the
   * first answer that said so. A tool may show a shorter object first (s3fs creates an empty one at
   * open); a multipart upload appears whole at once.
   */
  long awaitSize(String key, long size, long timeoutSeconds) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
    long seen = -1;
    while (true) {
      seen = size(key);
      long now = System.nanoTime();
      if (seen == size) {
        return now;
      }
      if (seen > size || now > deadline) {
        throw new IOException("s3://" + bucket + "/" + key + " has " + seen + " bytes after "
            + (seen > size ? "the upload" : timeoutSeconds + " s") + ", expected " + size);
      }
      Thread.sleep(POLL_MILLIS); // another process uploads: the server's answer is the only signal
    }
  }

  /** The object's size by HEAD, or -1 if there is none. */
  long size(String key) {
    try {
      return s3.headObject(b -> b.bucket(bucket).key(key)).contentLength();
    } catch (NoSuchKeyException e) {
      return -1;
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return -1;
      }
      throw e;
    }
  }

  /** SHA-256 (hex) of the object's bytes, read back with one GET. */
  String sha256(String key) throws IOException {
    try (InputStream in = s3.getObject(b -> b.bucket(bucket).key(key))) {
      return sha256(in);
    }
  }

  static String sha256(InputStream in) throws IOException {
    MessageDigest md = newDigest();
    byte[] buf = new byte[1 << 20];
    for (int n; (n = in.read(buf)) >= 0; ) {
      md.update(buf, 0, n);
    }
    return HexFormat.of().formatHex(md.digest());
  }

  static MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("no SHA-256 in this JVM", e);
    }
  }

  void delete(String key) {
    s3.deleteObject(b -> b.bucket(bucket).key(key));
  }
}
