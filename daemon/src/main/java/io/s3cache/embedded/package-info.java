/**
 * An S3 server embedded in the process ({@link io.s3cache.embedded.EmbeddedS3Server}, S3Proxy with
 * its filesystem backend on loopback), used by tests, {@code s3cache demo} and the benchmark
 * harness so none of them needs a real bucket or network access.
 */
package io.s3cache.embedded;
