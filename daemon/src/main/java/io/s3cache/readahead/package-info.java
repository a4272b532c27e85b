/**
 * Read-ahead: per open file handle, a {@link io.s3cache.readahead.SequentialDetector} notices a
 * sequential reader and grows a window of blocks ahead of it (one block, doubling up to {@code
 * read_ahead}); the daemon's single {@link io.s3cache.readahead.Prefetcher} loads those blocks
 * into the block cache on its own executor, in parallel, under one global byte budget ({@code
 * prefetch_memory}) shared by every handle, so many open files cannot exhaust memory. A reader is
 * never blocked by read-ahead: when the budget is full a block is simply not prefetched, and the
 * reader's own read fetches it (sharing any in-flight fetch through the cache's single-flight).
 *
 * <p>Public: {@link io.s3cache.readahead.ReadAheadConfig} (settings), {@link
 * io.s3cache.readahead.Prefetcher} (one per daemon) and {@link
 * io.s3cache.readahead.ReadAheadState} (one per open handle). {@code SequentialDetector} is pure
 * logic with no I/O.
 */
package io.s3cache.readahead;
