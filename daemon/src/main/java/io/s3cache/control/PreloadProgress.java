package io.s3cache.control;

import java.util.List;

/**
 * One progress report of a preload; the last one has {@code done = true}.
 *
 * @param phase "listing", "fetching" or "done"
 * @param files objects selected (grows while listing)
 * @param bytes their total size
 * @param filesDone objects whose every block is now cached
 * @param bytesDone bytes of those blocks now cached (already cached ones included)
 * @param bytesFetched bytes fetched from S3 by this preload
 * @param failed "key: reason" for objects that failed after retries (final report)
 * @param error why the whole preload stopped, if it did (e.g. does not fit the cap)
 */
public record PreloadProgress(String phase, long files, long bytes, long filesDone, long bytesDone,
    long bytesFetched, List<String> failed, String error, boolean done) {
  public PreloadProgress {
    failed = failed == null ? List.of() : List.copyOf(failed);
  }
}
