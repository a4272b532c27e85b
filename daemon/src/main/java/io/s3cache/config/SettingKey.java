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
  MAX_CONNECTIONS("64"),
  CONNECT_TIMEOUT("5s"),
  REQUEST_TIMEOUT("30s"),
  MAX_ATTEMPTS("5"),
  CACHE_DIR("/var/cache/s3cache"),
  RAM_CACHE("1G"),
  DISK_CACHE("10G"),
  BLOCK_SIZE("8M"),
  MAX_FETCHES("64"),
  READ_AHEAD("64M"),
  PREFETCH_MEMORY("512M"),
  METADATA_TTL("60s"),
  UID(""),
  GID(""),
  FILE_MODE("0444"),
  DIR_MODE("0555"),
  ALLOW_OTHER("false"),
  KERNEL_READ_AHEAD("0"),
  MOUNT_TIMEOUT("30s"),
  LOG_FILE("");

  private final String defaultValue;

  SettingKey(String defaultValue) {
    this.defaultValue = defaultValue;
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
