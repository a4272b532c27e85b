package io.s3cache.config;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses durations such as "0", "500ms", "30s", "5m", "1h", "2d" and "indefinite". */
public final class DurationValue {

  /** What "indefinite" parses to: long enough to never expire, small enough for nanosecond math. */
  public static final Duration INDEFINITE = Duration.ofDays(36_500);

  private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)?", Pattern.CASE_INSENSITIVE);

  private DurationValue() {}

  public static Duration parse(String key, String text) {
    String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
    if (t.equals("indefinite") || t.equals("infinite")) {
      return INDEFINITE;
    }
    Matcher m = DURATION.matcher(t);
    if (!m.matches()) {
      throw new ConfigException("invalid duration '" + text + "' for " + key
          + ": expected e.g. 0, 500ms, 30s, 5m, 1h or indefinite");
    }
    long n;
    try {
      n = Long.parseLong(m.group(1));
    } catch (NumberFormatException e) {
      throw new ConfigException("invalid duration '" + text + "' for " + key + ": too large");
    }
    String unit = m.group(2) == null ? "s" : m.group(2);
    Duration d = switch (unit) {
      case "ms" -> Duration.ofMillis(n);
      case "m" -> Duration.ofMinutes(Math.min(n, INDEFINITE.toMinutes()));
      case "h" -> Duration.ofHours(Math.min(n, INDEFINITE.toHours()));
      case "d" -> Duration.ofDays(Math.min(n, INDEFINITE.toDays()));
      default -> Duration.ofSeconds(Math.min(n, INDEFINITE.toSeconds()));
    };
    return d.compareTo(INDEFINITE) > 0 ? INDEFINITE : d;
  }

  public static boolean isIndefinite(Duration d) {
    return d.compareTo(INDEFINITE) >= 0;
  }
}
