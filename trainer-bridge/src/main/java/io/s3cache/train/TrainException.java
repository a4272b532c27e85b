package io.s3cache.train;

/** Bad input or a failed step of training, with one line for the user. */
public final class TrainException extends Exception {
  public TrainException(String message) {
    super(message);
  }

  public TrainException(String message, Throwable cause) {
    super(message, cause);
  }
}
