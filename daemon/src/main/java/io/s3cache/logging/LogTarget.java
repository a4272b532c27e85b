package io.s3cache.logging;

import io.s3cache.config.ConfigException;
import java.util.Locale;
import java.util.Map;

/** Where logs go: chosen with {@code --log-target}, or guessed from the environment. */
public enum LogTarget {
  /** stdout, one line per event, prefixed with a syslog priority ({@code <6>}) that journald reads. */
  JOURNAL,
  /** stderr with timestamps: a terminal or a supervisor that keeps stderr. */
  CONSOLE,
  /** A rotating file (log_file, else under cache_dir): a daemon started in the background. */
  FILE;

  /** "auto", "journal", "console" or "file"; auto is {@link #detect}. */
  public static LogTarget parse(String text, Map<String, String> env) {
    String t = text == null ? "auto" : text.trim().toLowerCase(Locale.ROOT);
    return switch (t) {
      case "auto" -> detect(env);
      case "journal" -> JOURNAL;
      case "console" -> CONSOLE;
      case "file" -> FILE;
      default -> throw new ConfigException("invalid --log-target '" + text + "': expected auto, journal, console or file");
    };
  }

  /** JOURNAL when systemd started us (it sets JOURNAL_STREAM or INVOCATION_ID), else CONSOLE. */
  public static LogTarget detect(Map<String, String> env) {
    return env.containsKey("JOURNAL_STREAM") || env.containsKey("INVOCATION_ID") ? JOURNAL : CONSOLE;
  }
}
