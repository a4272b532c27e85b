package io.s3cache.metrics;

/**
 * Every metric name s3cache registers, in one place. docs/METRICS.md documents each one; keep the
 * two in step.
 */
public final class MetricNames {
  private MetricNames() {}

  // S3 requests (Timers: count, rate and latency percentiles).
  public static final String S3_GET = "s3.requests.get";
  public static final String S3_HEAD = "s3.requests.head";
  public static final String S3_LIST = "s3.requests.list";
  /** Counter: requests that failed after every retry. */
  public static final String S3_ERRORS = "s3.requests.errors";
  /** Counter: HTTP attempts sent to S3, retries included (compare with the Timers' counts). */
  public static final String S3_ATTEMPTS = "s3.requests.attempts";
  /**
   * Requests that failed for their credentials (none could be had, or S3 refused them as expired,
   * unknown or wrongly signed); each mount also logs one WARN a minute while it happens.
   */
  public static final String S3_CREDENTIALS_REFUSED = "s3.requests.credentials_refused";
  public static final String S3_PUT = "s3.requests.put";
  public static final String S3_PUT_PART = "s3.requests.put_part";
  public static final String S3_COPY = "s3.requests.copy";
  public static final String S3_DELETE = "s3.requests.delete";
  /** Counter: bytes sent in PUT and part bodies (retries not counted twice). */
  public static final String S3_BYTES_SENT = "s3.bytes.sent";
  /** Counter: bytes received in GET bodies. */
  public static final String S3_BYTES = "s3.bytes.received";

  // Block cache (Counters).
  /**
   * Reads served from a block read-ahead brought into memory (fetched, or read whole from the disk
   * tier) that the RAM tier turned away or was not offered, held until read.
   */
  public static final String CACHE_RECENT_HITS = "cache.recent.hits";
  /** Blocks read-ahead read whole from the disk tier into memory ahead of their reader. */
  public static final String CACHE_DISK_READ_AHEAD = "cache.disk.read_ahead";
  public static final String CACHE_RAM_HITS = "cache.ram.hits";
  public static final String CACHE_RAM_MISSES = "cache.ram.misses";
  public static final String CACHE_DISK_HITS = "cache.disk.hits";
  public static final String CACHE_DISK_MISSES = "cache.disk.misses";
  /** Counter: disk-tier reads or writes that failed and were treated as a miss. */
  public static final String CACHE_DISK_ERRORS = "cache.disk.errors";
  /**
   * Counter: disk-tier blocks found corrupt or truncated on read (checksum, length or identity
   * mismatch): each is deleted, counted here and in {@link #CACHE_DISK_ERRORS}, and re-fetched.
   */
  public static final String CACHE_DISK_CORRUPT = "cache.disk.corrupt";
  /** Counter: blocks not written to the disk tier because no space could be made under the cap. */
  public static final String CACHE_DISK_REJECTED = "cache.disk.rejected";
  /**
   * Counter: fetched blocks not written to the disk tier because the queue of pending disk writes
   * was full (its byte limit reached) or the cache was closing.
   */
  public static final String CACHE_DISK_WRITES_DROPPED = "cache.disk.writes.dropped";
  /** Counter: a block fetched from the source (one per single-flight load). */
  public static final String CACHE_FETCHES = "cache.fetches";
  /** Counter: callers that waited on another caller's in-flight fetch of the same block. */
  public static final String CACHE_FETCH_SHARED = "cache.fetches.shared";
  /** Gauges: bytes held by each tier. */
  public static final String CACHE_RAM_BYTES = "cache.ram.bytes";
  public static final String CACHE_DISK_BYTES = "cache.disk.bytes";
  /** Gauge: direct memory the block buffer pool holds: buffers in use (RAM tier included) and free. */
  public static final String CACHE_BUFFER_BYTES = "cache.buffers.bytes";
  /** Counter: fills that waited for a pooled block buffer because all were in use. */
  public static final String CACHE_BUFFER_WAITS = "cache.buffers.waits";
  /** Counter: fills that waited too long for a pooled block buffer and allocated their own. */
  public static final String CACHE_BUFFER_FALLBACKS = "cache.buffers.fallbacks";

  // Preload (Counters).
  /** Bytes fetched from S3 by preloads (blocks already cached are not counted). */
  public static final String PRELOAD_BYTES_FETCHED = "preload.bytes.fetched";
  /** Objects a preload could not load after retries. */
  public static final String PRELOAD_OBJECTS_FAILED = "preload.objects.failed";

  // Read-ahead (io.s3cache.readahead).
  /** Counter: bytes of blocks loaded into the cache by read-ahead. */
  public static final String PREFETCH_BYTES = "prefetch.bytes";
  /** Counter: bytes a handle prefetched and had not read when it was released. */
  public static final String PREFETCH_UNUSED_BYTES = "prefetch.bytes.unused";
  /** Counter: block prefetches not started because the global prefetch budget was full. */
  public static final String PREFETCH_SKIPPED = "prefetch.skipped";
  /** Counter: prefetches that failed (the reader's own read retries and reports). */
  public static final String PREFETCH_FAILURES = "prefetch.failures";
  /** Gauge: bytes of prefetch fetches in flight (never above prefetch_memory). */
  public static final String PREFETCH_INFLIGHT_BYTES = "prefetch.inflight.bytes";

  // Filesystem operations: one Timer per FUSE operation, "fuse.op.<name>"; errors counted per op.
  public static final String FUSE_OP_PREFIX = "fuse.op.";
  public static final String FUSE_ERRORS_PREFIX = "fuse.errors.";
  /** Counter: bytes returned to read() callers. */
  public static final String FUSE_BYTES_READ = "fuse.bytes.read";
  /** Counter: blocks read() calls served (one per block a call touched). */
  public static final String FUSE_BLOCKS_READ = "fuse.blocks.read";
  /** Counter: of those, blocks the reading thread had to fetch from S3 itself (no tier held it, no prefetch was loading it). */
  public static final String FUSE_BLOCKS_FETCHED = "fuse.blocks.fetched";

  // Write path (io.s3cache.write).
  /** Timer: uploads of staged files (one per close/fsync/rename that uploaded), latency included. */
  public static final String UPLOADS = "write.uploads";
  /** Counter: bytes of staged files uploaded. */
  public static final String UPLOAD_BYTES = "write.upload.bytes";
  /** Counter: uploads that failed after every retry (the staged file is kept). */
  public static final String UPLOAD_FAILURES = "write.upload.failures";
  /**
   * Counter: parts of multipart uploads that went up while their file was still being written
   * (before its close), of uploads that completed that way.
   */
  public static final String UPLOAD_PARTS_WHILE_WRITING = "write.upload.parts_while_writing";
  /** Counter: staged files found at mount (left by a crash or a failed upload) and uploaded. */
  public static final String UPLOAD_RECOVERED = "write.upload.recovered";
  /** Gauge: bytes in staged files of this mount not uploaded yet. */
  public static final String STAGED_BYTES = "write.staged.bytes";
  /** Counter: writes refused with ENOSPC (the cache disk was full). */
  public static final String STAGING_NOSPACE = "write.staging.nospace";

  // Epoch plans (io.s3cache.plan).
  /** Counter: plans installed (POST /plan). */
  public static final String PLAN_PLANS = "plan.plans";
  /** Counter: blocks loaded into the cache by plan prefetches. */
  public static final String PLAN_PREFETCH_BLOCKS = "plan.prefetch.blocks";
  /** Counter: bytes of those blocks. */
  public static final String PLAN_PREFETCH_BYTES = "plan.prefetch.bytes";
  /** Counter: blocks a reader fetched from S3 itself while its mount had an active plan. */
  public static final String PLAN_ONDEMAND_GETS = "plan.ondemand.gets";
}
