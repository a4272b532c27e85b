/**
 * Generated data sets and the readers that check them, shared by the tests, the demo and the
 * benchmarks: {@link io.s3cache.demo.SampleDataset} (large shards and small files, every byte
 * re-derivable), {@link io.s3cache.demo.ImageDatasetGenerator} (a learnable image-classification
 * set), {@link io.s3cache.demo.TreeReader} (parallel whole-file reads) and
 * {@link io.s3cache.demo.PageCache} (drops the kernel's page cache). Test scope only.
 */
package io.s3cache.demo;
