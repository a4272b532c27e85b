package io.s3cache.control;

/**
 * What a refresh did.
 *
 * @param paths paths refreshed
 * @param dropped cached metadata entries (stat results and listings) forgotten
 * @param kernelNotified whether the kernel dropped its cached entries too; false means it keeps
 *     them until their timeouts (which follow {@code metadata_ttl}) run out
 */
public record RefreshResult(int paths, long dropped, boolean kernelNotified) {}
