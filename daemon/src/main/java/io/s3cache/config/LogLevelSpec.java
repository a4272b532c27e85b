package io.s3cache.config;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The {@code log_level} setting: a level for s3cache's own loggers, then {@code LOGGER=LEVEL} pairs
 * for any logger (a package or class name), e.g. {@code info,io.s3cache.s3=debug,software.amazon=info}.
 * Third-party libraries stay at WARN unless named. Inside a comma-separated {@code -o} list (and
 * fstab), separate the parts with {@code :} instead: {@code -o log_level=info:io.s3cache.s3=debug}.
 *
 * @param own level of the {@code io.s3cache} loggers
 * @param loggers levels of named loggers, in the order given
 */
public record LogLevelSpec(String own, Map<String, String> loggers) {

  public static final Set<String> LEVELS = Set.of("trace", "debug", "info", "warn", "error", "off");
  private static final Pattern LOGGER = Pattern.compile("[A-Za-z_$][A-Za-z0-9_$]*(\\.[A-Za-z_$][A-Za-z0-9_$]*)*");

  public static LogLevelSpec parse(String text) {
    String own = "info";
    Map<String, String> loggers = new LinkedHashMap<>();
    boolean first = true;
    for (String part : (text == null ? "" : text).split("[,:]")) {
      String p = part.trim();
      if (p.isEmpty()) {
        continue;
      }
      int eq = p.indexOf('=');
      if (eq < 0) {
        if (!first) {
          throw bad(text, "a bare level comes first; name loggers as LOGGER=LEVEL");
        }
        own = level(text, p);
      } else {
        String name = p.substring(0, eq).trim();
        if (!LOGGER.matcher(name).matches()) {
          throw bad(text, "'" + name + "' is not a logger name");
        }
        loggers.put(name, level(text, p.substring(eq + 1)));
      }
      first = false;
    }
    return new LogLevelSpec(own, Map.copyOf(loggers));
  }

  private static String level(String text, String level) {
    String l = level.trim().toLowerCase(Locale.ROOT);
    if (l.equals("warning")) {
      l = "warn";
    }
    if (!LEVELS.contains(l)) {
      throw bad(text, "unknown level '" + level.trim() + "' (trace, debug, info, warn, error, off)");
    }
    return l;
  }

  private static ConfigException bad(String text, String why) {
    return new ConfigException("invalid log_level '" + text + "': " + why + "; e.g. info,io.s3cache.s3=debug");
  }
}
