/**
 * Generated data sets and the readers that check them, shared by the tests, the demo and the
 * benchmarks: {@link io.s3cache.testing.data.SampleDataset} (large shards and small files, every
 * byte re-derivable), {@link io.s3cache.testing.data.ImageDatasetGenerator} (a learnable
 * image-classification set), {@link io.s3cache.testing.data.TreeReader} (parallel whole-file reads)
 * and {@link io.s3cache.testing.data.PageCache} (drops the kernel's page cache). Part of the test
 * kit: test scope everywhere but the bench module (whose demo is {@code bench/cli/DemoCommand});
 * nothing here ships.
 */
package io.s3cache.testing.data;
