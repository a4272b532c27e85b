/**
 * Access to S3: the {@link io.s3cache.s3.ObjectClient} contract the cache, filesystem and write
 * path use (reads; PUT, multipart upload, copy, delete), its result types, its configuration
 * ({@link io.s3cache.s3.S3Config}) and the AWS SDK v2 implementation created by {@link
 * io.s3cache.s3.ObjectClients}. SDK types stay inside this
 * package except for the optional credentials provider; errors leave it as {@link
 * io.s3cache.s3.ObjectClientException} with a kind, mapped in one place. A mount's credentials,
 * replaceable while it is mounted and renewed by the SDK's providers, are a {@link
 * io.s3cache.s3.MountCredentialsProvider}; what they have been allowed to read, which decides
 * whether the mount may serve blocks other mounts cached, is {@link io.s3cache.s3.ReadGrants}.
 */
package io.s3cache.s3;
