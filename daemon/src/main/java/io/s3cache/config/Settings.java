package io.s3cache.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Raw settings, layered: defaults, then a config file, then CLI options, then {@code -o} options;
 * a later layer wins. Values are parsed (and errors reported naming the key) by the typed getters;
 * a value read from a file is also checked as it is read, so its error names the file and line.
 */
public final class Settings {

  /** The host's config file, read by {@code mount}, {@code daemon} and mount.s3cache when present. */
  public static final Path DEFAULT_FILE = Path.of("/etc/s3cache/s3cache.conf");

  private final Map<SettingKey, String> values = new EnumMap<>(SettingKey.class);
  /** Keys given a value by a file, an option or code, whatever the value (even the default's). */
  private final java.util.Set<SettingKey> chosen = java.util.EnumSet.noneOf(SettingKey.class);
  /** Where a key's value was read from a file ("FILE line N"), for error messages. */
  private final Map<SettingKey, String> fileOrigin = new EnumMap<>(SettingKey.class);

  public Settings() {
    for (SettingKey k : SettingKey.values()) {
      values.put(k, k.defaultValue());
    }
  }

  public Settings set(SettingKey key, String value) {
    values.put(key, value);
    chosen.add(key);
    fileOrigin.remove(key);
    return this;
  }

  /** Sets {@code key}; an unknown key is an error naming where it came from. */
  public Settings set(String key, String value, String origin) {
    SettingKey k = SettingKey.of(key).orElseThrow(() ->
        new ConfigException("unknown setting '" + key + "' in " + origin));
    return set(k, value);
  }

  /** Reads {@code key = value} lines; '#' starts a comment; blank lines are ignored. */
  public Settings readFile(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ConfigException("cannot read config file " + file + ": " + e.getMessage());
    }
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      int hash = line.indexOf('#');
      String content = (hash >= 0 ? line.substring(0, hash) : line).trim();
      if (content.isEmpty()) {
        continue;
      }
      int eq = content.indexOf('=');
      if (eq <= 0) {
        throw new ConfigException(file + " line " + (i + 1) + ": expected key = value, got '" + content + "'");
      }
      String origin = file + " line " + (i + 1);
      String key = content.substring(0, eq).trim();
      String value = content.substring(eq + 1).trim();
      SettingKey repeated = SettingKey.of(key).orElse(null);
      if (repeated != null && fileOrigin.containsKey(repeated) && fileOrigin.get(repeated).startsWith(file + " line ")) {
        throw new ConfigException(origin + ": " + repeated.key() + " is already set on "
            + fileOrigin.get(repeated).substring(file.toString().length() + 1) + "; give each key once");
      }
      set(key, value, origin);
      SettingKey k = SettingKey.of(key).orElseThrow();
      try {
        SettingChecks.check(k, value);
      } catch (ConfigException e) {
        throw new ConfigException(origin + ": " + e.getMessage());
      }
      fileOrigin.put(k, origin);
    }
    return this;
  }

  /**
   * Reads {@code explicit} when given, else {@link #DEFAULT_FILE} when it exists; returns the file
   * read, or null.
   */
  public Path readFileOrDefault(Path explicit) {
    Path file = explicit != null ? explicit : Files.isRegularFile(DEFAULT_FILE) ? DEFAULT_FILE : null;
    if (file != null) {
      readFile(file);
    }
    return file;
  }

  /**
   * Checks every value on its own (see {@link SettingChecks}); an error names the key and, for a
   * value from a file, the file and line.
   */
  public Settings validate() {
    for (SettingKey k : SettingKey.values()) {
      try {
        SettingChecks.check(k, values.get(k));
      } catch (ConfigException e) {
        String origin = fileOrigin.get(k);
        throw origin == null ? e : new ConfigException(origin + ": " + e.getMessage());
      }
    }
    return this;
  }

  /**
   * Applies a comma-separated {@code -o} list ("ram_cache=4G,path_style"). A bare key means "true".
   * Keys that are generic mount options (rw, ro, _netdev, ...) are returned for the caller to judge.
   */
  public List<String> applyOptions(String options) {
    List<String> foreign = new java.util.ArrayList<>();
    for (String opt : options.split(",")) {
      String o = opt.trim();
      if (o.isEmpty()) {
        continue;
      }
      int eq = o.indexOf('=');
      String key = eq < 0 ? o : o.substring(0, eq);
      String value = eq < 0 ? "true" : o.substring(eq + 1);
      if (SettingKey.of(key).isPresent()) {
        set(key, value, "-o " + o);
      } else {
        foreign.add(o);
      }
    }
    return foreign;
  }

  /** The settings a file, an option or code gave a value (what a user chose, defaults excluded). */
  public Map<SettingKey, String> explicit() {
    Map<SettingKey, String> result = new EnumMap<>(SettingKey.class);
    for (SettingKey k : chosen) {
      result.put(k, values.get(k).trim());
    }
    return result;
  }

  /** A copy that can be changed without changing this one. */
  public Settings copy() {
    Settings s = new Settings();
    s.values.putAll(values);
    s.chosen.addAll(chosen);
    s.fileOrigin.putAll(fileOrigin);
    return s;
  }

  public String string(SettingKey key) {
    return values.get(key).trim();
  }

  public long size(SettingKey key) {
    return ByteSize.parse(key.key(), string(key));
  }

  public Duration duration(SettingKey key) {
    return DurationValue.parse(key.key(), string(key));
  }

  public int integer(SettingKey key, int min, int max) {
    String v = string(key);
    try {
      int n = Integer.parseInt(v);
      if (n < min || n > max) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new ConfigException("invalid value '" + v + "' for " + key.key() + ": expected an integer from " + min + " to " + max);
    }
  }

  public boolean bool(SettingKey key) {
    String v = string(key).toLowerCase(Locale.ROOT);
    return switch (v) {
      case "true", "yes", "on", "1" -> true;
      case "false", "no", "off", "0" -> false;
      default -> throw new ConfigException("invalid value '" + v + "' for " + key.key() + ": expected true or false");
    };
  }

  /** An octal permission value such as 0444. */
  public int mode(SettingKey key) {
    String v = string(key);
    try {
      int mode = Integer.parseInt(v, 8);
      if (mode < 0 || mode > 07777) {
        throw new NumberFormatException();
      }
      return mode;
    } catch (NumberFormatException e) {
      throw new ConfigException("invalid mode '" + v + "' for " + key.key() + ": expected octal such as 0444");
    }
  }
}
