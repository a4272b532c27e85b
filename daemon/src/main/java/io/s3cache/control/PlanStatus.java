package io.s3cache.control;

/**
 * An epoch plan's figures: POST /plan answers it as the plan starts, GET /plan as it goes, DELETE
 * /plan with the final figures.
 *
 * @param files planned files
 * @param readerPosition one past the furthest planned file the reader has opened
 * @param issuedThrough files whose blocks were handed to the prefetcher (or found cached)
 * @param inflightBlocks plan prefetches running now
 * @param prefetchedBlocks blocks the plan loaded (fetched, read from the disk tier into memory, or
 *     a block on disk hinted to the kernel's read-ahead)
 * @param prefetchedBytes their bytes
 * @param alreadyCachedBlocks planned blocks held in memory already, or another prefetch was loading
 * @param onDemandGets S3 GETs readers of the mount made themselves while the plan was active
 * @param active false once the reader opened the last planned file, or the plan was dropped
 */
public record PlanStatus(String mountPoint, long epoch, int files, int readerPosition, int issuedThrough,
    int inflightBlocks, long prefetchedBlocks, long prefetchedBytes, long alreadyCachedBlocks, long onDemandGets,
    boolean active) {}
