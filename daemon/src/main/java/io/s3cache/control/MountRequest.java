package io.s3cache.control;

import java.util.List;
import java.util.Map;

/**
 * POST /mounts.
 *
 * @param source s3://BUCKET[/PREFIX]
 * @param mountPoint absolute path
 * @param settings setting key → value (conf/s3cache.conf keys), as the CLI collected them
 * @param options generic mount options that are not s3cache settings (_netdev, ...)
 * @param credentials the caller's AWS credentials, or null for the daemon's default chain
 */
public record MountRequest(String source, String mountPoint, Map<String, String> settings, List<String> options,
    MountCredentials credentials) {

  /** A request that uses the daemon's own credentials. */
  public MountRequest(String source, String mountPoint, Map<String, String> settings, List<String> options) {
    this(source, mountPoint, settings, options, null);
  }

  public MountRequest {
    settings = settings == null ? Map.of() : Map.copyOf(settings);
    options = options == null ? List.of() : List.copyOf(options);
  }
}
