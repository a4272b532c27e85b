package io.s3cache.control;

/** GET /health. */
public record Health(String status, long pid, String version, int mounts, long uptimeSeconds) {}
