package io.s3cache.config;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * Every setting a mount takes: the key in conf/s3cache.conf and in {@code -o key=value}; the common
 * ones also have a CLI option (see MountCommand). conf/s3cache.conf documents each one and shows its
 * default; a test keeps the two in step.
 */
public enum SettingKey {
  ENDPOINT(""),
  REGION("us-east-1"),
  PATH_STYLE("false"),
  CHECKSUM_MODE("when_required"),
  GET_CLIENT("direct"),
  MAX_CONNECTIONS("64"),
  PROFILE(""),
  CONNECT_TIMEOUT("5s"),
  REQUEST_TIMEOUT("9s"),
  MAX_ATTEMPTS("3"),
  CACHE_DIR("/var/cache/s3cache", true),
  RAM_CACHE("1G", true),
  DISK_CACHE("10G", true),
  DISK_MIN_FREE("1G", true),
  BLOCK_SIZE("8M", true),
  MAX_FETCHES("64", true),
  READ_AHEAD("64M", true),
  PREFETCH_MEMORY("512M", true),
  METADATA_TTL("60s"),
  METADATA_MAX_STALE("1h"),
  UID(""),
  GID(""),
  FILE_MODE(""),
  DIR_MODE(""),
  UMASK(""),
  ALLOW_OTHER("false"),
  KERNEL_READ_AHEAD("0"),
  MOUNT_TIMEOUT("30s"),
  MULTIPART_THRESHOLD("64M"),
  UPLOAD_PART_SIZE("16M"),
  UPLOAD_THREADS("8"),
  WRITE_COPY_MAX("1G"),
  TEMP_NAMES("*.tmp:*.temp:*.part:*.partial"),
  TEMP_UPLOAD_DELAY("30s"),
  LOG_FILE("", true),
  LOG_LEVEL("info", true),
  CONTROL_SOCKET("/run/s3cache/s3cache.sock", true),
  CONTROL_TCP("", true),
  CONTROL_TOKEN_FILE("", true),
  METRICS_LISTEN("", true);

  private final String defaultValue;
  private final boolean daemonWide;

  SettingKey(String defaultValue) {
    this(defaultValue, false);
  }

  SettingKey(String defaultValue, boolean daemonWide) {
    this.defaultValue = defaultValue;
    this.daemonWide = daemonWide;
  }

  /**
   * True for settings of the daemon as a whole (the shared cache, the control socket, the log):
   * set when the daemon starts, the same for every mount it serves.
   */
  public boolean daemonWide() {
    return daemonWide;
  }

  /** The key as written in files and -o options, e.g. "ram_cache". */
  public String key() {
    return name().toLowerCase(Locale.ROOT);
  }

  public String defaultValue() {
    return defaultValue;
  }

  public static Optional<SettingKey> of(String key) {
    String k = key.trim().toLowerCase(Locale.ROOT).replace('-', '_');
    return Arrays.stream(values()).filter(s -> s.key().equals(k)).findFirst();
  }
}
