/**
 * Fakes that tests of every module share: an in-memory object client and a fault-injecting one
 * (both held to {@link io.s3cache.testing.ObjectClientContract}, the S3 behaviour s3cache relies on,
 * which the real S3 servers pass too), and a {@link io.s3cache.testing.ManualExecutor} that runs
 * tasks only when the test says so. Test scope only: nothing here ships.
 */
package io.s3cache.testing;
