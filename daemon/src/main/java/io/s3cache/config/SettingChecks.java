package io.s3cache.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Checks one setting's value on its own (type and range), so a bad value is reported where it was
 * written (a config file's line) before anything starts. Rules that relate two settings
 * (prefetch_memory at least block_size) are checked where the settings are combined.
 */
public final class SettingChecks {

  /** Unix socket paths are at most 107 bytes (sun_path holds 108 with the NUL). */
  public static final int MAX_SOCKET_PATH_BYTES = 107;

  private SettingChecks() {}

  /** Throws a one-line {@link ConfigException} naming {@code key} when {@code value} is unusable. */
  public static void check(SettingKey key, String value) {
    Settings s = new Settings().set(key, value == null ? "" : value);
    String v = s.string(key);
    switch (key) {
      case ENDPOINT -> endpoint(v);
      case REGION, CACHE_DIR -> {
        if (v.isEmpty()) {
          throw new ConfigException(key.key() + " must not be empty");
        }
      }
      case PATH_STYLE, ALLOW_OTHER -> s.bool(key);
      case CHECKSUM_MODE -> {
        if (!v.equalsIgnoreCase("when_required") && !v.equalsIgnoreCase("when_supported")) {
          throw new ConfigException("invalid checksum_mode '" + v + "': expected when_supported or when_required");
        }
      }
      case GET_CLIENT -> {
        if (!v.equalsIgnoreCase("direct") && !v.equalsIgnoreCase("sdk")) {
          throw new ConfigException("invalid get_client '" + v + "': expected direct or sdk");
        }
      }
      case MAX_CONNECTIONS, MAX_FETCHES -> s.integer(key, 1, 4096);
      case MAX_ATTEMPTS -> s.integer(key, 1, 100);
      case CONNECT_TIMEOUT, REQUEST_TIMEOUT, MOUNT_TIMEOUT -> {
        if (s.duration(key).isZero()) {
          throw new ConfigException(key.key() + " must be greater than zero");
        }
      }
      case METADATA_TTL, METADATA_MAX_STALE -> s.duration(key);
      case PROFILE -> {
        if (!v.isEmpty() && !v.matches("[A-Za-z0-9._@+=,/-]+")) {
          throw new ConfigException("invalid profile '" + v + "': a profile name of the AWS config files");
        }
      }
      case RAM_CACHE -> {
        long ram = s.size(key);
        long physical = physicalMemory();
        if (physical > 0 && ram > physical) {
          throw new ConfigException("ram_cache " + v + " is more than this machine's memory ("
              + (physical >> 20) + " MiB); choose a smaller ram_cache");
        }
      }
      case DISK_MIN_FREE, READ_AHEAD, PREFETCH_MEMORY, KERNEL_READ_AHEAD -> s.size(key);
      case DISK_CACHE -> {
        long bytes = s.size(key);
        if (bytes != 0 && bytes < 2L << 20) {
          throw new ConfigException("invalid disk_cache " + v + ": must be 0 (disk tier off) or at least 2M");
        }
      }
      case BLOCK_SIZE -> {
        long bytes = s.size(key);
        if (Long.bitCount(bytes) != 1 || bytes < 64 << 10 || bytes > 64 << 20) {
          throw new ConfigException("invalid block_size " + v + ": must be a power of two from 64K to 64M");
        }
      }
      case UID, GID -> {
        if (!v.isEmpty()) {
          s.integer(key, 0, Integer.MAX_VALUE);
        }
      }
      case FILE_MODE, DIR_MODE -> {
        if (!v.isEmpty()) {
          s.mode(key);
        }
      }
      case UMASK -> {
        if (!v.isEmpty() && s.mode(key) > 0777) {
          throw new ConfigException("invalid umask '" + v + "': expected octal from 000 to 777, e.g. 022");
        }
      }
      case CONTROL_SOCKET -> {
        if (v.isEmpty()) {
          throw new ConfigException("control_socket must not be empty");
        }
        if (v.getBytes(StandardCharsets.UTF_8).length > MAX_SOCKET_PATH_BYTES) {
          throw new ConfigException("control_socket path is longer than " + MAX_SOCKET_PATH_BYTES + " bytes: " + v);
        }
      }
      case CONTROL_TCP -> {
        if (!v.isEmpty()) {
          hostPort(key.key(), v);
        }
      }
      case METRICS_LISTEN -> {
        if (!v.isEmpty()) {
          hostPort(key.key(), v.contains(":") ? (v.startsWith(":") ? "127.0.0.1" + v : v) : "127.0.0.1:" + v);
        }
      }
      case LOG_LEVEL -> LogLevelSpec.parse(v);
      case MULTIPART_THRESHOLD, UPLOAD_PART_SIZE, WRITE_COPY_MAX -> s.size(key);
      case UPLOAD_THREADS -> s.integer(key, 1, 256);
      case TEMP_UPLOAD_DELAY -> s.duration(key);
      default -> {
        // free text (log_file, temp_names)
      }
    }
  }

  /** Total physical memory in bytes, or 0 when the JVM cannot tell. */
  private static long physicalMemory() {
    if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getTotalMemorySize();
    }
    return 0;
  }

  /** "HOST:PORT" with a port from 0 to 65535. */
  public static void hostPort(String key, String v) {
    int colon = v.lastIndexOf(':');
    try {
      int port = Integer.parseInt(v.substring(colon + 1));
      if (colon <= 0 || port < 0 || port > 65535) {
        throw new NumberFormatException();
      }
    } catch (RuntimeException e) {
      throw new ConfigException("invalid " + key + " '" + v + "': expected HOST:PORT");
    }
  }

  private static void endpoint(String text) {
    if (text.isEmpty()) {
      return;
    }
    try {
      URI uri = new URI(text);
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      if (uri.getHost() == null || !(scheme.equals("http") || scheme.equals("https"))) {
        throw new URISyntaxException(text, "not http(s)");
      }
    } catch (URISyntaxException e) {
      throw new ConfigException("invalid endpoint '" + text + "': expected http(s)://HOST[:PORT]");
    }
  }
}
