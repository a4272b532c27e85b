package io.s3cache.control;

/** A control request that failed: an HTTP status and one line for the user. */
public final class ControlException extends Exception {

  private final int status;

  public ControlException(int status, String message) {
    super(message);
    this.status = status;
  }

  public static ControlException badRequest(String message) {
    return new ControlException(400, message);
  }

  public static ControlException notFound(String message) {
    return new ControlException(404, message);
  }

  public static ControlException conflict(String message) {
    return new ControlException(409, message);
  }

  public int status() {
    return status;
  }
}
