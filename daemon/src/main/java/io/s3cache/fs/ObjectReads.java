package io.s3cache.fs;

import com.codahale.metrics.Counter;
import com.codahale.metrics.MetricRegistry;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.s3cache.cache.BlockCache;
import io.s3cache.cache.BlockKey;
import io.s3cache.fuse.Errno;
import io.s3cache.fuse.FsException;
import io.s3cache.metrics.MetricNames;
import io.s3cache.readahead.Prefetcher;
import io.s3cache.readahead.ReadAheadState;
import io.s3cache.s3.ObjectClientException;
import io.s3cache.s3.ObjectMeta;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The read path of {@link S3Filesystem}: opens {@link ReadHandle}s on object versions and serves
 * reads of a version from the block cache, counting bytes and blocks and telling the {@link
 * ReadObserver} how many blocks a reader fetched itself.
 *
 * <p>Also decides, per open, whether the handle may use the kernel's page cache: the page cache is
 * per inode and shared by every handle of a path, so handles of two versions must not both use it.
 * Thread-safe: the per-path count of page-cached handles changes inside one {@code compute}.
 */
final class ObjectReads {

  private final String bucket;
  private final BlockCache blocks;
  private final Prefetcher prefetcher; // null: read-ahead off
  private final Namespace namespace;
  private final ReadObserver observer;
  private final Attributes attributes;
  /**
   * The ETag each path had when last opened through the page cache: the version the kernel's page
   * cache holds. An unchanged object keeps the kernel's page cache.
   */
  private final Cache<String, String> lastOpened;
  /**
   * Per path, the open handles that read through the kernel's page cache (absent: none). The page
   * cache is per inode, shared by every handle of the path, so while such handles are open a handle
   * of another version must not use it: it gets direct_io, or the two would mix their pages.
   */
  private final Map<String, Integer> pageCacheReaders = new ConcurrentHashMap<>();
  private final Counter bytesRead;
  private final Counter blocksRead;
  private final Counter blocksFetched;

  ObjectReads(String bucket, BlockCache blocks, Prefetcher prefetcher, Namespace namespace, ReadObserver observer,
      Attributes attributes, MetricRegistry metrics) {
    this.bucket = bucket;
    this.blocks = blocks;
    this.prefetcher = prefetcher;
    this.namespace = namespace;
    this.observer = observer;
    this.attributes = attributes;
    this.lastOpened = Caffeine.newBuilder().maximumSize(1_000_000).executor(Runnable::run).build();
    this.bytesRead = metrics.counter(MetricNames.FUSE_BYTES_READ);
    this.blocksRead = metrics.counter(MetricNames.FUSE_BLOCKS_READ);
    this.blocksFetched = metrics.counter(MetricNames.FUSE_BLOCKS_FETCHED);
  }

  /** A handle numbered {@code id} on the version {@code meta} of the object at {@code path}. */
  ReadHandle open(long id, String path, ObjectMeta meta) {
    ReadAheadState readAhead = prefetcher == null ? null
        : prefetcher.open(bucket, meta.key(), meta.etag(), meta.size(), blocks);
    boolean[] keep = new boolean[1];
    boolean[] direct = new boolean[1];
    pageCacheReaders.compute(path, (p, open) -> {
      String cached = lastOpened.getIfPresent(p);
      if (open != null && !meta.etag().equals(cached)) {
        direct[0] = true; // others still read another version through the page cache
        return open;
      }
      // Keep the pages only when no other handle is open: an open that drops them (keep_cache
      // unset) may still be on its way through the kernel, and its pages of an older version with it.
      keep[0] = open == null && meta.etag().equals(cached);
      lastOpened.put(p, meta.etag());
      return open == null ? 1 : open + 1;
    });
    return new ReadHandle(id, path, meta, readAhead, !direct[0], keep[0], this, attributes);
  }

  void release(ReadHandle h) {
    if (h.pageCached()) {
      pageCacheReaders.computeIfPresent(h.path(), (p, open) -> open == 1 ? null : open - 1);
    }
    if (h.readAhead() != null) {
      h.readAhead().release();
    }
  }

  /** Bytes a handle read from somewhere else (a stage). */
  void countBytes(int n) {
    bytesRead.inc(n);
  }

  /** Reads {@code [offset, offset + dst.remaining())} of the version {@code meta}, cut at its end. */
  int read(String path, ObjectMeta meta, long offset, ByteBuffer dst) throws FsException {
    long end = Math.min(meta.size(), offset + dst.remaining());
    int blockSize = blocks.blockSize();
    long pos = offset;
    int touched = 0;
    int[] fetched = new int[1];
    Runnable countFetch = () -> fetched[0]++; // called by the cache on this thread when it goes to S3
    try {
      while (pos < end) {
        touched++;
        long index = pos / blockSize;
        long blockStart = index * blockSize;
        int blockLength = (int) Math.min(blockSize, meta.size() - blockStart);
        int from = (int) (pos - blockStart);
        int n = (int) Math.min(blockLength - from, end - pos);
        int limit = dst.limit();
        dst.limit(dst.position() + n);
        try {
          blocks.read(new BlockKey(bucket, meta.key(), meta.etag(), index), blockLength, from, dst,
              countFetch);
        } finally {
          dst.limit(limit);
        }
        pos += n;
      }
    } catch (ObjectClientException e) {
      if (e.kind() == ObjectClientException.Kind.PRECONDITION_FAILED) {
        namespace.forget(path); // the object changed: a new open should see the new version at once
      }
      throw Namespace.s3Failure("read", meta.key(), e);
    } catch (IOException e) {
      throw new FsException(Errno.EIO, FsException.Level.WARN, "read " + meta.key() + " at " + pos + ": " + e.getMessage(), e);
    } finally {
      blocksRead.inc(touched);
      if (fetched[0] > 0) {
        blocksFetched.inc(fetched[0]);
        observer.onReaderFetches(path, fetched[0]);
      }
    }
    int n = (int) (pos - offset);
    bytesRead.inc(n);
    return n;
  }
}
