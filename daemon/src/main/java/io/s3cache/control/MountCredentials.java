package io.s3cache.control;

/**
 * Credentials a mount request carries from the caller's environment (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE), so a mount uses the credentials of the
 * shell that asked for it, not whatever the daemon was started with. They travel only over the
 * owner-only control socket and are never logged. All null: the daemon's own default chain.
 */
public record MountCredentials(String accessKeyId, String secretAccessKey, String sessionToken, String profile) {

  /** From this process's environment; null when it sets none of the variables. */
  public static MountCredentials fromEnvironment() {
    String id = blankToNull(System.getenv("AWS_ACCESS_KEY_ID"));
    String secret = blankToNull(System.getenv("AWS_SECRET_ACCESS_KEY"));
    String token = blankToNull(System.getenv("AWS_SESSION_TOKEN"));
    String profile = blankToNull(System.getenv("AWS_PROFILE"));
    return id == null && profile == null ? null : new MountCredentials(id, secret, token, profile);
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s;
  }

  @Override
  public String toString() {
    return "MountCredentials[accessKeyId=" + accessKeyId + ", secret=<redacted>, profile=" + profile + "]";
  }
}
