package io.s3cache.control;

/** What an evict dropped. */
public record EvictResult(long objects, long blocks, long bytes) {}
