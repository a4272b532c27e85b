package io.s3cache.testing;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * The ETags S3 gives what it stores (objects without KMS encryption): a PUT's or a part's is the
 * quoted MD5 of its bytes; a multipart object's is the MD5 of its parts' MD5s, "-", and the part
 * count. What {@link InMemoryObjectClient} answers and what {@link ObjectClientContract} expects.
 */
final class S3Etags {

  private S3Etags() {}

  /** The quoted MD5 of {@code bytes}: a single PUT's or an uploaded part's ETag. */
  static String ofBytes(byte[] bytes) {
    return quote(HexFormat.of().formatHex(md5().digest(bytes)));
  }

  /** A completed multipart upload's ETag, from its parts' ETags in part order. */
  static String ofMultipart(List<String> partEtags) {
    MessageDigest md5 = md5();
    for (String etag : partEtags) {
      md5.update(HexFormat.of().parseHex(etag.replace("\"", "")));
    }
    return quote(HexFormat.of().formatHex(md5.digest()) + "-" + partEtags.size());
  }

  private static String quote(String s) {
    return "\"" + s + "\"";
  }

  private static MessageDigest md5() {
    try {
      return MessageDigest.getInstance("MD5");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has MD5", e);
    }
  }
}
