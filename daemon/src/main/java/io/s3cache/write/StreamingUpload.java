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
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A multipart upload that sends parts while a file is still being written, so that close only
 * waits for the last ones. It follows one sequential writer: every write must start where the last
 * one ended. Once the written bytes reach the multipart threshold, each part lying wholly below
 * the end goes up on the upload executor, read from the staged file. Any other write (a rewrite
 * below the end, a gap, a truncate, a rename) breaks it off: the parts sent are aborted and the
 * close uploads the whole file as usual. {@link #finish} sends what is left and completes.
 *
 * <p>Why this is safe: a part is read from the staged file after it was submitted, so a write into
 * it afterwards could change what it sent. Such a write is always below {@code end} and so breaks
 * the upload off before the close; the close runs under the stage's write lock, after every write
 * has reported itself here, and only completes an upload that was never broken off and whose
 * {@code end} is the file's length.
 *
 * <p>Thread-safety: {@link #written} and {@link #finish} synchronise on this object for the
 * bookkeeping only; parts and the completion run on the upload executor or the closing thread.
 */
final class StreamingUpload {

  private static final Logger LOG = LoggerFactory.getLogger(StreamingUpload.class);

  private final ObjectUploader uploader;
  private final ObjectClient client;
  private final Executor parts;
  private final String key;
  private final Path file;
  private final long partSize;
  private final long threshold;
  private long end; // guarded by this: bytes written in order from offset 0
  private int submitted; // guarded by this
  private CompletableFuture<String> uploadId; // guarded by this; null until the first part
  private final List<CompletableFuture<String>> etags = new ArrayList<>(); // guarded by this
  private boolean broken; // guarded by this
  private boolean finished; // guarded by this

  private final java.util.function.Consumer<String> started;

  StreamingUpload(ObjectUploader uploader, ObjectClient client, Executor parts, String key, Path file, long partSize,
      long threshold, java.util.function.Consumer<String> started) {
    this.started = started;
    this.uploader = uploader;
    this.client = client;
    this.parts = parts;
    this.key = key;
    this.file = file;
    this.partSize = partSize;
    this.threshold = threshold;
  }

  String key() {
    return key;
  }

  /** Parts sent so far (before {@link #finish}, they went up while the file was being written). */
  synchronized int partsSent() {
    return submitted;
  }

  /** {@code length} bytes at {@code offset} are now in the staged file. */
  synchronized void written(long offset, long length) {
    if (broken || finished) {
      return;
    }
    if (offset != end) {
      breakOff("a write at " + offset + " instead of " + end);
      return;
    }
    end += length;
    if (end < threshold) {
      return;
    }
    while ((long) (submitted + 1) * partSize <= end) {
      if (submitted + 1 >= WriteConfig.MAX_PARTS) {
        breakOff("more than " + WriteConfig.MAX_PARTS + " parts of " + partSize + " bytes");
        return;
      }
      try {
        submit(submitted + 1, partSize);
      } catch (RejectedExecutionException e) {
        breakOff("the upload executor stopped");
        return;
      }
    }
  }

  /** The file is no longer written in order (truncated, renamed, removed): abort what was sent. */
  synchronized void breakOff(String why) {
    if (broken || finished) {
      return;
    }
    broken = true;
    if (submitted > 0) {
      LOG.debug("upload of {} while it is written stopped ({}); its close uploads the whole file", key, why);
    }
    abortWhenSettled();
  }

  /**
   * At close, under the stage's write lock: sends the parts not sent yet and completes the upload
   * of {@code length} bytes to {@code closingKey}. Null when this upload cannot be used (broken
   * off, another key, not all written in order, a part failed): it is aborted and the caller
   * uploads the whole file instead.
   */
  ObjectMeta finish(String closingKey, long length) {
    List<CompletableFuture<String>> all;
    CompletableFuture<String> id;
    synchronized (this) {
      if (broken || finished || !closingKey.equals(key) || end != length || length < threshold
          || (length + partSize - 1) / partSize > WriteConfig.MAX_PARTS) {
        breakOff("not usable at close");
        return null;
      }
      finished = true;
      try {
        for (long offset = (long) submitted * partSize; offset < length; offset += partSize) {
          submit(submitted + 1, Math.min(partSize, length - offset));
        }
      } catch (RejectedExecutionException e) {
        abortWhenSettled();
        return null;
      }
      all = List.copyOf(etags);
      id = uploadId;
    }
    List<String> done = new ArrayList<>(all.size());
    String upload;
    try {
      upload = id.join();
      for (CompletableFuture<String> part : all) {
        done.add(part.join());
      }
    } catch (CompletionException e) {
      LOG.info("a part of {} sent while it was written failed ({}); uploading the whole file again", key,
          e.getCause() == null ? e.toString() : e.getCause().getMessage());
      abortWhenSettled();
      return null;
    }
    try {
      return uploader.complete(key, upload, done, length);
    } catch (ObjectClientException e) {
      LOG.info("completing the upload of {} sent while it was written failed ({}); uploading the whole file again",
          key, e.getMessage());
      uploader.abortQuietly(key, upload);
      return null;
    }
  }

  private void submit(int number, long size) {
    if (uploadId == null) {
      uploadId = CompletableFuture.supplyAsync(() -> {
        String id = call(() -> client.createMultipart(key));
        synchronized (this) {
          if (!broken) {
            started.accept(id); // journaled before any part goes up (not once broken off: cleared then)
          }
        }
        return id;
      }, parts);
    }
    long offset = (long) (number - 1) * partSize;
    etags.add(uploadId.thenApplyAsync(id -> call(() -> client.uploadPart(key, id, number, file, offset, size)), parts));
    submitted = number;
  }

  /** Aborts the multipart upload, if one was started, once its parts have all ended. */
  private synchronized void abortWhenSettled() {
    CompletableFuture<String> id = uploadId;
    if (id == null) {
      return;
    }
    CompletableFuture.allOf(etags.toArray(CompletableFuture[]::new))
        .handle((ignored, error) -> null)
        .thenCompose(ignored -> id)
        .thenAcceptAsync(upload -> uploader.abortQuietly(key, upload), parts);
  }

  private interface S3Call<T> {
    T run() throws ObjectClientException;
  }

  private static <T> T call(S3Call<T> call) {
    try {
      return call.run();
    } catch (ObjectClientException e) {
      throw new CompletionException(e);
    }
  }
}
