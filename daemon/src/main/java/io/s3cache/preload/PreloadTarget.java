package io.s3cache.preload;

import io.s3cache.s3.ObjectClient;

/**
 * What one preload path names in S3: a single object ({@code prefix == false}) or everything under
 * a key prefix ending in "/" (or "" for a whole bucket), read through {@code client}.
 */
public record PreloadTarget(ObjectClient client, String key, boolean prefix) {}
