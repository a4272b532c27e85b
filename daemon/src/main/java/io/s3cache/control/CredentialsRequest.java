package io.s3cache.control;

/**
 * POST /credentials: new credentials for a live mount ({@code s3cache credentials}), without
 * unmounting it. They travel only over the control socket (or the token-guarded TCP listener) and
 * are never logged.
 *
 * @param mountPoint the mount whose credentials change
 * @param credentials keys (id, secret, optional session token) to sign with from now on, or only a
 *     profile of the daemon's AWS config files, which the SDK then keeps fresh
 */
public record CredentialsRequest(String mountPoint, MountCredentials credentials) {}
