package io.s3cache.write;

import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectClientException;
import io.s3cache.s3.ObjectMeta;
import java.nio.file.Path;
import java.util.ArrayList;
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
public final class Uploader {

  private static final Logger LOG = LoggerFactory.getLogger(Uploader.class);

  private final ObjectClient client;
  private final WriteConfig config;
  private final Executor parts;

  public Uploader(ObjectClient client, WriteConfig config, Executor parts) {
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
      List<CompletableFuture<String>> futures = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        int number = i + 1;
        long offset = i * partSize;
        long size = Math.min(partSize, length - offset);
        futures.add(CompletableFuture.supplyAsync(() -> {
          try {
            return client.uploadPart(key, uploadId, number, file, offset, size);
          } catch (ObjectClientException e) {
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
          futures.forEach(other -> other.cancel(false));
        } catch (java.util.concurrent.CancellationException e) {
          // a sibling failed first
        }
      }
      if (failure != null) {
        throw failure;
      }
      return client.completeMultipart(key, uploadId, etags, length);
    } catch (ObjectClientException | RuntimeException e) {
      try {
        client.abortMultipart(key, uploadId);
      } catch (ObjectClientException abort) {
        LOG.warn("could not abort the multipart upload {} of {}: {}", uploadId, key, abort.getMessage());
      }
      throw e;
    }
  }
}
