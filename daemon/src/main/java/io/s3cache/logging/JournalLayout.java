package io.s3cache.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.LayoutBase;

/**
 * One line per event for journald: {@code <6>INFO io.s3cache.daemon.Daemon: message}. The
 * {@code <N>} prefix sets the entry's priority (journald's SyslogLevelPrefix); journald adds the
 * time, so there is none here. A stack trace follows on its own lines.
 */
final class JournalLayout extends LayoutBase<ILoggingEvent> {

  @Override
  public String doLayout(ILoggingEvent event) {
    StringBuilder sb = new StringBuilder(128);
    sb.append('<').append(priority(event.getLevel())).append('>')
        .append(event.getLevel()).append(' ')
        .append(event.getLoggerName()).append(": ")
        .append(event.getFormattedMessage()).append(CoreConstants.LINE_SEPARATOR);
    if (event.getThrowableProxy() != null) {
      sb.append(ThrowableProxyUtil.asString(event.getThrowableProxy())).append(CoreConstants.LINE_SEPARATOR);
    }
    return sb.toString();
  }

  static int priority(Level level) {
    return switch (level.toInt()) {
      case Level.ERROR_INT -> 3;
      case Level.WARN_INT -> 4;
      case Level.INFO_INT -> 6;
      default -> 7;
    };
  }
}
