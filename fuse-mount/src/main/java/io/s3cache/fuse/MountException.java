package io.s3cache.fuse;

/** A mount or unmount that could not be done; the message is one line a user can act on. */
public final class MountException extends Exception {
  public MountException(String message) {
    super(message);
  }

  public MountException(String message, Throwable cause) {
    super(message, cause);
  }
}
