package io.s3cache.s3;

import java.io.IOException;

/** A failed S3 operation, classified so callers can map it to an errno or a CLI message. */
public final class ObjectClientException extends IOException {

  /** What went wrong, independent of the SDK's exception types. */
  public enum Kind {
    /** The key does not exist (404 on an object). */
    NOT_FOUND,
    /** The bucket does not exist. */
    NO_SUCH_BUCKET,
    /** 403: the credentials are valid but not allowed this (bucket policy, IAM). */
    ACCESS_DENIED,
    /**
     * The credentials themselves: none could be had (a profile that fails, a credential_process
     * that exits non-zero), or S3 refused them as expired, unknown or wrongly signed.
     */
    CREDENTIALS,
    /** 412: the object changed since its ETag was read. */
    PRECONDITION_FAILED,
    /** The endpoint could not be reached (DNS, connection refused, timeouts) after retries. */
    UNREACHABLE,
    /** 5xx, throttling or a truncated body that persisted through every retry. */
    SERVER_ERROR,
    /** Anything else (bad request, invalid argument, ...). */
    OTHER
  }

  private final Kind kind;

  public ObjectClientException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public ObjectClientException(Kind kind, String message) {
    this(kind, message, null);
  }

  public Kind kind() {
    return kind;
  }
}
