package io.s3cache.control;

import io.s3cache.s3.RequestCounts;
import java.util.List;

/**
 * GET /stats: the daemon's cache and S3 figures since it started.
 *
 * @param prefetchHitRatio of prefetched bytes, the share a reader then read (0 when none)
 * @param blocksRead blocks read() calls served ({@code fuse.blocks.read})
 * @param blocksFetchedByReaders of those, blocks the reader had to fetch from S3 itself ({@code
 *     fuse.blocks.fetched}); {@code 1 - blocksFetchedByReaders / blocksRead} is the readers' hit ratio
 * @param planPrefetchedBytes bytes loaded by epoch-plan prefetches ({@code plan.prefetch.bytes})
 * @param planOnDemandGets blocks readers fetched themselves during an active plan ({@code
 *     plan.ondemand.gets})
 * @param requests S3 requests by kind of every mount since the daemon started (each mount's own
 *     in {@link MountInfo#requests()})
 */
public record StatsSnapshot(
    long ramHits,
    long ramMisses,
    long diskHits,
    long diskMisses,
    long diskErrors,
    long bytesFromS3,
    long bytesServed,
    long prefetchedBytes,
    long prefetchUnusedBytes,
    double prefetchHitRatio,
    long s3Gets,
    double s3GetP50Millis,
    double s3GetP99Millis,
    long ramBytes,
    long ramCapBytes,
    long diskBytes,
    long diskCapBytes,
    List<MountInfo> mounts,
    long blocksRead,
    long blocksFetchedByReaders,
    long planPrefetchedBytes,
    long planOnDemandGets,
    RequestCounts requests) {}
