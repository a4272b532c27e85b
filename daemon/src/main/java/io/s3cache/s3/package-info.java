/**
 * Read access to S3: the {@link io.s3cache.s3.ObjectClient} contract the cache and filesystem use,
 * its result types, its configuration ({@link io.s3cache.s3.S3Config}) and the AWS SDK v2
 * implementation created by {@link io.s3cache.s3.ObjectClients}. SDK types stay inside this
 * package except for the optional credentials provider; errors leave it as {@link
 * io.s3cache.s3.ObjectClientException} with a kind, mapped in one place.
 */
package io.s3cache.s3;
