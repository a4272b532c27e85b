package io.s3cache.control;

/**
 * What a mount signs with after POST /credentials.
 *
 * @param mountPoint the mount
 * @param source what its credentials are now, in words (never a secret)
 */
public record CredentialsResult(String mountPoint, String source) {}
