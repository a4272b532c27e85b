package io.s3cache.cache;

/**
 * A snapshot of the block cache's counters and sizes (each read separately, so not one atomic
 * instant).
 *
 * @param ramHits gets served from the RAM tier
 * @param ramMisses gets the RAM tier could not serve
 * @param diskHits RAM misses served from the disk tier
 * @param diskMisses RAM misses the disk tier could not serve (counted only with the disk tier on)
 * @param diskErrors disk-tier reads or writes that failed (bad file, I/O error) and became a miss
 *     or a skipped write
 * @param diskRejected blocks not written because no room could be made under the disk cap
 * @param diskWritesDropped blocks not written because the pending-write queue was full
 * @param fetches blocks fetched from the source (one per single-flight load)
 * @param fetchesShared callers that waited on another caller's in-flight load of the same block
 * @param ramBytes bytes of blocks in the RAM tier
 * @param ramBlocks blocks in the RAM tier (estimate)
 * @param diskBytes bytes the disk tier charges against its cap (directories, files, writes in
 *     progress)
 * @param diskBlocks block files in the disk tier
 * @param diskCapBytes the disk tier's cap (0: disk tier off)
 */
public record CacheStats(
    long ramHits,
    long ramMisses,
    long diskHits,
    long diskMisses,
    long diskErrors,
    long diskRejected,
    long diskWritesDropped,
    long fetches,
    long fetchesShared,
    long ramBytes,
    long ramBlocks,
    long diskBytes,
    long diskBlocks,
    long diskCapBytes) {}
