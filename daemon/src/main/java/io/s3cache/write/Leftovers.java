package io.s3cache.write;

import com.codahale.metrics.Counter;
import com.codahale.metrics.MetricRegistry;
import io.s3cache.fs.FsConfig;
import io.s3cache.fuse.FsException;
import io.s3cache.metrics.MetricNames;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Staged files that outlive a mount: at mount, those an earlier process left under this mount's
 * bucket and prefix ({@link #recover}); at unmount, what this mount leaves staged for the next one
 * ({@link #unmount}).
 *
 * <p>Concurrency: {@link #recover} runs on the mounting thread before the filesystem is writable,
 * {@link #unmount} after the FUSE mount is gone, so no FUSE call runs meanwhile; only a cache fill
 * (on {@code cache-fill-BUCKET}) may still end. Uploads take the stage's write lock and then
 * {@link WriteStages}'s structure lock, as on the FUSE path.
 */
final class Leftovers {

  // the write path logs under one name, io.s3cache.write.WritePath (log configs and greps use it)
  private static final Logger LOG = LoggerFactory.getLogger(WritePath.class);

  private final FsConfig fs;
  private final NamespacePort ns;
  private final StagingArea area;
  private final io.s3cache.s3.ObjectClient client;
  private final WriteStages table;
  private final CloseUploads uploads;
  private final Counter recovered;

  Leftovers(FsConfig fs, NamespacePort ns, StagingArea area, io.s3cache.s3.ObjectClient client, WriteStages table,
      CloseUploads uploads, MetricRegistry metrics) {
    this.fs = fs;
    this.ns = ns;
    this.area = area;
    this.client = client;
    this.table = table;
    this.uploads = uploads;
    this.recovered = metrics.counter(MetricNames.UPLOAD_RECOVERED);
  }

  /**
   * Staged files left under this mount's bucket and prefix by an earlier process: closed ones are
   * uploaded now (or stay pending, visible in the mount, if that fails); ones whose writer never
   * closed them may be incomplete and are moved to {@code staging/incomplete/} with a WARN.
   */
  void recover() {
    List<StagingArea.Leftover> found;
    try {
      found = area.leftovers(fs.bucket(), fs.prefix());
    } catch (IOException e) {
      LOG.warn("staging: cannot look for staged files left by an earlier run: {}", e.toString());
      return;
    }
    for (StagingArea.Leftover l : found) {
      Path meta = l.data().resolveSibling(l.id() + ".meta");
      String url = "s3://" + l.bucket() + "/" + l.key();
      if (l.upload() != null) {
        abortLeftUpload(l, url);
      }
      switch (l.state()) {
        case UPLOADED -> {
          try {
            Files.deleteIfExists(meta);
            Files.deleteIfExists(l.data());
          } catch (IOException e) {
            LOG.warn("staging: cannot delete {}: {}", l.data(), e.toString());
          }
        }
        case OPEN -> LOG.warn("staging: {} was still open for writing when s3cache stopped, so it may be "
            + "incomplete; it was NOT uploaded. Its bytes are kept at {}", url, area.moveAside(meta, l.data()));
        case CLOSED -> recoverClosed(l, url);
      }
    }
  }

  /** Aborts a multipart upload that parts went up to while the file was written, before the crash. */
  private void abortLeftUpload(StagingArea.Leftover l, String url) {
    try {
      client.abortMultipart(l.key(), l.upload());
      LOG.info("staging: aborted the incomplete multipart upload {} of {} (parts sent while it was written, "
          + "before s3cache stopped)", l.upload(), url);
    } catch (io.s3cache.s3.ObjectClientException e) {
      LOG.info("staging: could not abort the multipart upload {} of {} left by an earlier run ({}); a bucket "
          + "lifecycle rule AbortIncompleteMultipartUpload removes it", l.upload(), url, e.getMessage());
    }
  }

  private void recoverClosed(StagingArea.Leftover l, String url) {
    String path = "/" + l.key().substring(fs.prefix().length());
    WriteStage s = new WriteStage(path, null);
    try {
      s.file = area.adopt(l);
    } catch (IOException e) {
      LOG.warn("staging: cannot open {} for {}: {}", l.data(), url, e.toString());
      return;
    }
    s.dirty = true;
    s.inS3 = true;
    if (!table.putIfAbsent(path, s)) {
      s.file.closeKeeping();
      return;
    }
    try {
      long size = s.size(); // before the upload: its cache fill may drop the stage when it ends
      uploads.upload(s, l.key());
      recovered.inc();
      LOG.info("staging: uploaded {} ({} bytes), left staged by an earlier run", url, size);
      table.dropIfIdle(s);
    } catch (FsException e) {
      LOG.warn("staging: {} (left staged by an earlier run) could not be uploaded: {}; it stays staged at {} "
          + "and visible in the mount", url, e.getMessage(), l.data());
    }
  }

  /**
   * At unmount: uploads closed files nobody holds whose bytes S3 lacks (temp files nobody renamed);
   * leaves everything else staged (or deletes what needs no upload), and forgets every stage.
   */
  void unmount() {
    for (WriteStage s : table.all()) {
      s.stopStream("unmounted");
      boolean idle = table.handles(s) == 0;
      if (idle && s.dirty && s.failure == null && !s.unlinked) {
        try {
          uploads.upload(s, ns.key(s.path));
        } catch (FsException e) {
          LOG.warn("unmount: {} could not be uploaded ({}); it stays staged and is uploaded at the next mount",
              s.path, e.getMessage());
        }
      }
      StagedFile f = s.file;
      if (f != null) {
        if (s.dirty && !s.unlinked && s.failure == null) {
          f.closeKeeping();
        } else {
          f.delete();
        }
      }
    }
    table.clear();
  }
}
