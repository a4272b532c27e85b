package io.s3cache.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import ch.qos.logback.core.rolling.FixedWindowRollingPolicy;
import ch.qos.logback.core.rolling.RollingFileAppender;
import ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy;
import ch.qos.logback.core.util.FileSize;
import io.s3cache.config.ConfigException;
import io.s3cache.config.LogLevelSpec;
import io.s3cache.files.PrivateFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.slf4j.LoggerFactory;

/**
 * Replaces the bundled logback.xml (console, for CLI commands) with the long-running process's
 * logging: the journal, the console or a rotating file, at the levels of {@code log_level}.
 */
public final class LogSetup {

  /** A log file is rotated at this size; this many old files are kept (s3cache.log.1 ... .5). */
  public static final String MAX_FILE_SIZE = "10MB";
  public static final int KEPT_FILES = 5;
  private static final String FILE_PATTERN = "%d{yyyy-MM-dd HH:mm:ss.SSS} %-5level [%thread] %logger{36} - %msg%n";
  private static final String CONSOLE_PATTERN = "%d{HH:mm:ss.SSS} %-5level [%thread] %logger{36} - %msg%n";

  private LogSetup() {}

  /**
   * @param file the log file when {@code target} is FILE (its directory is created)
   */
  public static void configure(LogTarget target, LogLevelSpec levels, Path file) {
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    ctx.reset();
    OutputStreamAppender<ILoggingEvent> appender = switch (target) {
      case JOURNAL -> journal(ctx);
      case CONSOLE -> console(ctx);
      case FILE -> rollingFile(ctx, file);
    };
    Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.WARN); // third-party servers and clients are noisy at INFO
    root.addAppender(appender);
    ctx.getLogger("io.s3cache").setLevel(Level.toLevel(levels.own()));
    for (Map.Entry<String, String> e : levels.loggers().entrySet()) {
      ctx.getLogger(e.getKey()).setLevel(Level.toLevel(e.getValue()));
    }
  }

  /**
   * The log file of a daemon in the background: {@code log_file}, else {@code logs/s3cache.log}
   * under {@code cache_dir}, else (cache_dir cannot be created) in a fresh private directory (never
   * a fixed name in a directory others can write: they could plant a symlink there).
   */
  public static Path file(io.s3cache.config.Settings settings) {
    String configured = settings.string(io.s3cache.config.SettingKey.LOG_FILE);
    if (!configured.isEmpty()) {
      return Path.of(configured).toAbsolutePath().normalize();
    }
    Path dir = Path.of(settings.string(io.s3cache.config.SettingKey.CACHE_DIR)).toAbsolutePath().normalize().resolve("logs");
    try {
      PrivateFiles.createDirectories(dir);
      if (Files.isWritable(dir)) {
        return dir.resolve("s3cache.log");
      }
    } catch (IOException | SecurityException e) {
      // fall through to a private directory
    }
    try {
      return PrivateFiles.createPrivateTempDirectory("s3cache-logs-").resolve("s3cache.log");
    } catch (IOException e) {
      throw new ConfigException("cannot create a private log directory: " + e.getMessage());
    }
  }

  private static OutputStreamAppender<ILoggingEvent> journal(LoggerContext ctx) {
    JournalLayout layout = new JournalLayout();
    layout.setContext(ctx);
    layout.start();
    LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
    encoder.setContext(ctx);
    encoder.setLayout(layout);
    encoder.start();
    ConsoleAppender<ILoggingEvent> out = new ConsoleAppender<>();
    out.setContext(ctx);
    out.setName("JOURNAL");
    out.setTarget("System.out");
    out.setEncoder(encoder);
    out.start();
    return out;
  }

  private static OutputStreamAppender<ILoggingEvent> console(LoggerContext ctx) {
    ConsoleAppender<ILoggingEvent> err = new ConsoleAppender<>();
    err.setContext(ctx);
    err.setName("STDERR");
    err.setTarget("System.err");
    err.setEncoder(pattern(ctx, CONSOLE_PATTERN));
    err.start();
    return err;
  }

  private static OutputStreamAppender<ILoggingEvent> rollingFile(LoggerContext ctx, Path file) {
    Path abs = file.toAbsolutePath().normalize();
    try {
      PrivateFiles.createDirectories(abs.getParent());
    } catch (IOException e) {
      throw new ConfigException("cannot create the log directory " + abs.getParent() + ": " + e.getMessage());
    }
    try {
      PrivateFiles.createFile(abs); // 0600, and never through a symlink planted at its name
    } catch (IOException e) {
      throw new ConfigException("cannot write the log file " + abs + ": " + e.getMessage());
    }
    if (!Files.isWritable(abs)) {
      throw new ConfigException("cannot write the log file " + abs);
    }
    RollingFileAppender<ILoggingEvent> appender = new RollingFileAppender<>();
    appender.setContext(ctx);
    appender.setName("FILE");
    appender.setFile(abs.toString());
    FixedWindowRollingPolicy rolling = new FixedWindowRollingPolicy();
    rolling.setContext(ctx);
    rolling.setParent(appender);
    rolling.setFileNamePattern(abs + ".%i");
    rolling.setMinIndex(1);
    rolling.setMaxIndex(KEPT_FILES);
    rolling.start();
    SizeBasedTriggeringPolicy<ILoggingEvent> trigger = new SizeBasedTriggeringPolicy<>();
    trigger.setContext(ctx);
    trigger.setMaxFileSize(FileSize.valueOf(MAX_FILE_SIZE));
    trigger.start();
    appender.setRollingPolicy(rolling);
    appender.setTriggeringPolicy(trigger);
    appender.setEncoder(pattern(ctx, FILE_PATTERN));
    appender.start();
    return appender;
  }

  private static PatternLayoutEncoder pattern(LoggerContext ctx, String pattern) {
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(ctx);
    encoder.setPattern(pattern);
    encoder.start();
    return encoder;
  }
}
