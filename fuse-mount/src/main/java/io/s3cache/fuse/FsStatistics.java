package io.s3cache.fuse;

/** What statfs reports, in units of {@code blockSize}. */
public record FsStatistics(
    long blockSize, long totalBlocks, long freeBlocks, long totalFiles, long freeFiles, int maxNameLength) {}
