/**
 * The end-to-end benchmarks behind {@code s3cache bench}, {@code bench-index} and
 * {@code bench-write}: each runs local disk, s3cache and peer tools (s3fs, rclone) against one
 * embedded S3 server in one run and prints ratios (docs/BENCHMARKS.md), with the FUSE floor
 * ({@code floorfs.c}, compiled at run time by {@link io.s3cache.bench.FuseFloor}) as the bound FUSE
 * itself sets. Not used by the daemon.
 */
package io.s3cache.bench;
