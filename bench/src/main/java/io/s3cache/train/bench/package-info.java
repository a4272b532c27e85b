/**
 * {@code bin/s3cache-train bench}: the issue-6 measurement of training I/O through s3cache with
 * latency injected on every S3 request, against local disk, with and without epoch plans.
 */
package io.s3cache.train.bench;
