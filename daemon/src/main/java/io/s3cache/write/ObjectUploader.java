package io.s3cache.write;

import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectClientException;
import io.s3cache.s3.ObjectMeta;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Uploads a staged file as one object: one PUT below {@code multipart_threshold}, else a multipart
 * upload whose parts go up in parallel on the upload executor. Either the whole object is in S3
 * when {@link #upload} returns, or it throws and nothing new is visible (a failed multipart upload
 * is aborted). Each request is retried by the object client. Thread-safe.
 */
public final class ObjectUploader {

  private static final Logger LOG = LoggerFactory.getLogger(ObjectUploader.class);

  private final ObjectClient client;
  private final WriteConfig config;
  private final Executor parts;

  public ObjectUploader(ObjectClient client, WriteConfig config, Executor parts) {
    this.client = client;
    this.config = config;
    this.parts = parts;
  }

  /** Uploads the first {@code length} bytes of {@code file} to {@code key}; returns the new version. */
  public ObjectMeta upload(String key, Path file, long length) throws ObjectClientException {
    if (length < config.multipartThreshold()) {
      return client.put(key, file, 0, length);
    }
    long partSize = config.partSizeFor(length);
    int count = (int) ((length + partSize - 1) / partSize);
    String uploadId = client.createMultipart(key);
    try {
      // After a failure, parts not started yet are skipped; those running are waited for (below),
      // so the abort comes after every part has ended and S3 keeps none of them.
      java.util.concurrent.atomic.AtomicBoolean failed = new java.util.concurrent.atomic.AtomicBoolean();
      List<CompletableFuture<String>> futures = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        int number = i + 1;
        long offset = i * partSize;
        long size = Math.min(partSize, length - offset);
        futures.add(CompletableFuture.supplyAsync(() -> {
          if (failed.get()) {
            return null; // skipped: another part failed
          }
          try {
            return client.uploadPart(key, uploadId, number, file, offset, size);
          } catch (ObjectClientException | RuntimeException e) {
            failed.set(true);
            throw new CompletionException(e);
          }
        }, parts));
      }
      List<String> etags = new ArrayList<>(count);
      ObjectClientException failure = null;
      for (CompletableFuture<String> f : futures) {
        try {
          etags.add(f.join());
        } catch (CompletionException e) {
          if (failure == null) {
            failure = e.getCause() instanceof ObjectClientException oce ? oce
                : new ObjectClientException(ObjectClientException.Kind.OTHER, String.valueOf(e.getCause()), e.getCause());
          }
        }
      }
      if (failure != null) {
        throw failure;
      }
      return complete(key, uploadId, etags, length);
    } catch (ObjectClientException | RuntimeException e) {
      abortQuietly(key, uploadId);
      throw e;
    }
  }

  /**
   * Completes a multipart upload whose parts all went up; a completion whose answer was lost is
   * recognised by the object's ETag (see {@link #completedAnyway}). Does not abort on failure.
   */
  ObjectMeta complete(String key, String uploadId, List<String> etags, long length) throws ObjectClientException {
    try {
      return client.completeMultipart(key, uploadId, etags, length);
    } catch (ObjectClientException e) {
      ObjectMeta landed = completedAnyway(key, etags, length);
      if (landed == null) {
        throw e;
      }
      LOG.info("completing the multipart upload of {} reported \"{}\", but the object in S3 has this upload's "
          + "ETag {}: the upload completed and only its answer was lost", key, e.getMessage(), landed.etag());
      return landed;
    }
  }

  /**
   * A multipart upload of {@code key} from {@code file} that starts while the file is still being
   * written sequentially (see {@link StreamingUpload}); {@code started} gets its upload id once S3
   * has given one, before any part is sent.
   */
  StreamingUpload streaming(String key, Path file, java.util.function.Consumer<String> started) {
    return new StreamingUpload(this, client, parts, key, file, config.partSize(), config.multipartThreshold(),
        started);
  }

  /** Aborts a multipart upload, logging (not throwing) a failure: S3's lifecycle rules clean up after it. */
  void abortQuietly(String key, String uploadId) {
    try {
      client.abortMultipart(key, uploadId);
    } catch (ObjectClientException abort) {
      LOG.warn("could not abort the multipart upload {} of {}: {}", uploadId, key, abort.getMessage());
    }
  }

  /**
   * The object at {@code key} when it is the one this multipart upload made, else null. A
   * CompleteMultipartUpload whose answer is lost (connection reset, truncated body) is retried by
   * the client, and the retry fails with NoSuchUpload because the first attempt completed it; the
   * object's ETag (MD5 of the parts' MD5s, "-", the part count) tells whether that happened.
   */
  private ObjectMeta completedAnyway(String key, List<String> partEtags, long length) {
    String expected = multipartEtag(partEtags);
    if (expected == null) {
      return null;
    }
    try {
      ObjectMeta meta = client.head(key);
      return meta.size() == length && expected.equalsIgnoreCase(unquote(meta.etag())) ? meta : null;
    } catch (ObjectClientException e) {
      return null;
    }
  }

  /** S3's ETag of a multipart object with these part ETags; null if one is not a plain MD5. */
  static String multipartEtag(List<String> partEtags) {
    MessageDigest md5;
    try {
      md5 = MessageDigest.getInstance("MD5");
    } catch (NoSuchAlgorithmException e) {
      return null;
    }
    for (String etag : partEtags) {
      String hex = unquote(etag);
      if (hex == null || !hex.matches("[0-9a-fA-F]{32}")) {
        return null;
      }
      md5.update(HexFormat.of().parseHex(hex));
    }
    return HexFormat.of().formatHex(md5.digest()) + "-" + partEtags.size();
  }

  private static String unquote(String etag) {
    if (etag == null) {
      return null;
    }
    return etag.length() >= 2 && etag.startsWith("\"") && etag.endsWith("\"") ? etag.substring(1, etag.length() - 1)
        : etag;
  }
}
