package io.s3cache.control;

/**
 * An epoch plan's figures: POST /plan answers it as the plan starts, GET /plan as it goes, DELETE
 * /plan with the final figures.
 *
 * @param id the daemon's id of the plan ("p1", "p2", ...), unique while the daemon runs
 * @param name the plan's lane name (plans of one name replace each other)
 * @param files planned files
 * @param readerPosition one past the furthest planned file the reader has opened
 * @param issuedThrough files whose blocks were handed to the prefetcher (or found cached)
 * @param inflightBlocks plan prefetches running now
 * @param prefetchedBlocks blocks the plan loaded (fetched, read from the disk tier into memory, or
 *     a block on disk hinted to the kernel's read-ahead)
 * @param prefetchedBytes their bytes
 * @param alreadyCachedBlocks planned blocks held in memory already, or another prefetch was loading
 * @param onDemandGets S3 GETs readers of the plan's files made themselves while it was active
 * @param active true while the plan follows its reader ({@code state} "active")
 * @param state "active", "queued" (a follow-on waiting for the plan of its name), "finished" (the
 *     reader opened the last planned file) or "ended" (ended earlier: by its client, a newer plan of
 *     its name, its client process's exit, or the mount going away)
 * @param clientPid the process whose exit ends the plan, or 0
 */
public record PlanStatus(String id, String name, String mountPoint, long epoch, int files, int readerPosition,
    int issuedThrough, int inflightBlocks, long prefetchedBlocks, long prefetchedBytes, long alreadyCachedBlocks,
    long onDemandGets, boolean active, String state, int clientPid) {}
