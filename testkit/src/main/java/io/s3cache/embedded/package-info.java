/**
 * An S3 server embedded in the process ({@link io.s3cache.embedded.EmbeddedS3Server}, S3Proxy with
 * its filesystem backend on loopback), used by tests, {@code s3cache demo} and the benchmark
 * harness so none of them needs a real bucket or network access; and a fault-injecting HTTP proxy
 * on loopback to put in front of it ({@link io.s3cache.embedded.FaultInjectingProxy}, driven by a
 * {@link io.s3cache.embedded.FaultPlan}), used by the tests and {@code s3cache bench --faults}.
 * It lives in the testkit module, which tests take at test scope and the bench module at compile
 * scope, so both share one implementation and the daemon and its package carry no S3 server.
 */
package io.s3cache.embedded;
