/**
 * The block cache: fixed-size blocks of object versions ({@link io.s3cache.cache.BlockKey}) served
 * from RAM, then local disk, then fetched once from a {@link io.s3cache.cache.BlockSource} (S3).
 *
 * <p>Public: the {@link io.s3cache.cache.BlockCache} contract, its implementation {@link
 * io.s3cache.cache.TieredBlockCache}, its settings {@link io.s3cache.cache.CacheConfig} and
 * {@link io.s3cache.cache.CacheStats}. Package-private: {@code CacheTier}, the role of one level
 * of the cache, which the tiered cache composes fastest first; the RAM tier ({@code MemoryTier},
 * Caffeine over direct buffers); the disk tier ({@code DiskTier}: index, hard size cap, eviction;
 * {@code BlockFiles}: reading and writing one block file, and range reads that check just the
 * chunks they touch; {@code BlockChannels}: the small cache of open block files;
 * {@code BlockFileFormat}: header layout, chunk checksums and names; {@code DiskTierScan}: warm restart; {@code BlockFileIo}: the filesystem seam tests
 * inject failures through); {@code SingleFlight} (one load per block at a time, shared by readers,
 * read-ahead and preload), {@code FillingBlock} (a block being fetched, whose readers each get
 * their range as soon as it arrived) {@code DiskWriteQueue} (bounded background writes of fetched
 * blocks), {@code BufferPool}, {@code BlockBuffer} and {@code BlockMemory} (reused,
 * reference-counted buffers of whole blocks, and where their memory comes from).
 */
package io.s3cache.cache;
