/** Metric names (one constants class, documented in docs/METRICS.md) and the FUSE operation observer. */
package io.s3cache.metrics;
