package io.s3cache.control;

/** One live mount, as GET /mounts lists it. */
public record MountInfo(String mountPoint, String source, String endpoint, int openFiles) {}
