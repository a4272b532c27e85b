package io.s3cache.fuse;

/**
 * A filesystem operation failed with an errno. Carries how loudly to log it: a lookup of a missing
 * name is routine (DEBUG), an S3 failure behind a read is not (WARN or ERROR).
 */
public final class FsException extends Exception {

  /** How the operation wrapper logs the failure. */
  public enum Level {
    DEBUG,
    /** Something the user asked for and did not get (e.g. a write on a read-only mount). */
    INFO,
    WARN,
    ERROR
  }

  private final Errno errno;
  private final Level level;

  public FsException(Errno errno, Level level, String message, Throwable cause) {
    super(message, cause);
    this.errno = errno;
    this.level = level;
  }

  public FsException(Errno errno, String message) {
    this(errno, Level.DEBUG, message, null);
  }

  public static FsException notFound(String path) {
    return new FsException(Errno.ENOENT, "no such file or directory: " + path);
  }

  public static FsException readOnly(String op, String path) {
    return new FsException(Errno.EROFS, Level.INFO, op + " " + path + ": the mount is read-only", null);
  }

  public Errno errno() {
    return errno;
  }

  public Level level() {
    return level;
  }
}
