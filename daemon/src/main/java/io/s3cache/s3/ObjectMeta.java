package io.s3cache.s3;

import java.time.Instant;

/** What a HEAD or a LIST says about one object version. {@code etag} keeps its quotes as S3 sends it. */
public record ObjectMeta(String key, long size, Instant lastModified, String etag) {}
