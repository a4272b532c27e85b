package io.s3cache.s3;

import io.s3cache.s3.ObjectClientException.Kind;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import javax.net.ssl.SSLException;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.ApiCallAttemptTimeoutException;
import software.amazon.awssdk.core.exception.ApiCallTimeoutException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.exception.SdkServiceException;

/**
 * The one place SDK exceptions become {@link ObjectClientException}s. Every message is one line a
 * CLI can print as is: what failed, on which bucket/key, at which endpoint, and why.
 */
final class S3ErrorMapper {

  private final String bucket;
  private final String endpoint;

  S3ErrorMapper(String bucket, String endpointLabel) {
    this.bucket = bucket;
    this.endpoint = endpointLabel;
  }

  /** A request for a range the object does not fully cover; never retried. */
  static final class RangeNotSatisfiedException extends RuntimeException {
    RangeNotSatisfiedException(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * The server must answer exactly the range asked: a 206 starting at {@code offset} and reaching
   * {@code last}, or a 200 with the whole object when the range starts at 0.
   *
   * @param contentRange the answer's Content-Range, or null
   * @param length the answer's Content-Length, or null where it has none
   */
  static void checkContentRange(String contentRange, Long length, String key, long offset, long last) {
    String asked = "bytes=" + offset + "-" + last;
    if (contentRange == null) {
      if (offset == 0 && length != null && length > last) {
        return;
      }
      throw new RangeNotSatisfiedException(
          "GET '" + key + "' " + asked + ": object has " + length + " bytes, the range runs past its end");
    }
    // "bytes first-last/total"
    try {
      String spec = contentRange.trim();
      int space = spec.indexOf(' ');
      int dash = spec.indexOf('-', space);
      int slash = spec.indexOf('/', dash);
      long first = Long.parseLong(spec.substring(space + 1, dash));
      long end = Long.parseLong(spec.substring(dash + 1, slash));
      if (first != offset || end < last) {
        throw new RangeNotSatisfiedException("GET '" + key + "' " + asked + ": object has "
            + spec.substring(slash + 1) + " bytes, the range runs past its end");
      }
    } catch (IndexOutOfBoundsException | NumberFormatException e) {
      throw new RangeNotSatisfiedException(
          "GET '" + key + "' " + asked + ": unreadable Content-Range '" + contentRange + "'");
    }
  }

  /**
   * {@link #map} for a request that failed, counted in {@code failures} (a missing key is an
   * answer, not a failure) and, when S3 refused the credentials, told to {@code refused}.
   */
  ObjectClientException failed(Operation op, String key, RuntimeException e, com.codahale.metrics.Counter failures,
      java.util.function.Consumer<String> refused) {
    ObjectClientException mapped = map(op, key, e);
    if (mapped.kind() != Kind.NOT_FOUND) {
      failures.inc();
    }
    if (mapped.kind() == Kind.CREDENTIALS) {
      refused.accept(mapped.getMessage());
    }
    return mapped;
  }

  /**
   * @param op what was attempted, e.g. {@code "GET"}, {@code "LIST"}, {@code "check"}
   * @param key the key or prefix involved, or null for bucket-level operations
   */
  ObjectClientException map(Operation op, String key, RuntimeException e) {
    RangeNotSatisfiedException range = findCause(e, RangeNotSatisfiedException.class);
    if (range != null) {
      return new ObjectClientException(Kind.OTHER, range.getMessage(), e);
    }
    if (e instanceof SdkServiceException se) {
      return mapService(op, key, se);
    }
    return mapClient(op, key, e);
  }

  private ObjectClientException mapService(Operation op, String key, SdkServiceException e) {
    int status = e.statusCode();
    String code = errorCode(e);
    String target = target(op, key);
    if (status == 404) {
      if ("NoSuchBucket".equals(code) || op == Operation.CHECK_BUCKET || op == Operation.LIST) {
        return new ObjectClientException(
            Kind.NO_SUCH_BUCKET, "bucket '" + bucket + "' does not exist at " + endpoint, e);
      }
      return new ObjectClientException(
          Kind.NOT_FOUND, "object '" + key + "' not found in bucket '" + bucket + "'", e);
    }
    // A HEAD's error has no body, so no code: S3 answers 400 to one signed with an expired session
    // token, where nothing else about a plain HEAD can be malformed.
    boolean headWithoutCode = (code == null || code.isEmpty()) && status == 400
        && (op == Operation.HEAD || op == Operation.CHECK_BUCKET);
    if ((code != null && CREDENTIAL_CODES.contains(code)) || headWithoutCode) {
      return new ObjectClientException(
          Kind.CREDENTIALS,
          endpoint + " refused the credentials (" + (headWithoutCode ? "400 to a HEAD" : code) + ") for " + op.verb
              + " " + target + ": they are expired, revoked or wrong",
          e);
    }
    if (status == 403) {
      return new ObjectClientException(
          Kind.ACCESS_DENIED,
          "access denied to bucket '" + bucket + "' at " + endpoint
              + (code == null || code.isEmpty() ? "" : " (" + code + ")")
              + ": check the credentials and the bucket policy",
          e);
    }
    if (status == 412) {
      return new ObjectClientException(
          Kind.PRECONDITION_FAILED,
          "object '" + key + "' in bucket '" + bucket + "' changed since it was listed (ETag no longer matches)",
          e);
    }
    if (status == 416) {
      return new ObjectClientException(
          Kind.OTHER, op.verb + " " + target + " asked for a range past the end of the object", e);
    }
    if (status >= 500 || status == 429 || e.isThrottlingException()) {
      return new ObjectClientException(
          Kind.SERVER_ERROR,
          endpoint + " answered " + status + describeCode(code) + " to " + op.verb + " " + target
              + attempts(e),
          e);
    }
    return new ObjectClientException(
        Kind.OTHER,
        op.verb + " " + target + " at " + endpoint + " failed: " + status + describeCode(code)
            + serviceMessage(e),
        e);
  }

  private ObjectClientException mapClient(Operation op, String key, RuntimeException e) {
    MountCredentialsProvider.Unavailable none = findCause(e, MountCredentialsProvider.Unavailable.class);
    if (none != null || isNoCredentials(e)) {
      return new ObjectClientException(
          Kind.CREDENTIALS,
          "no credentials for " + op.verb + " " + target(op, key) + ": "
              + oneLine(none != null ? e.getMessage() : firstLine(e.getMessage())),
          e);
    }
    String attempts = attempts(e);
    String unreachable = unreachableReason(e);
    if (unreachable != null) {
      return new ObjectClientException(
          Kind.UNREACHABLE, "cannot reach S3 at " + endpoint + ": " + unreachable + attempts, e);
    }
    IOException io = findCause(e, IOException.class);
    if (io != null) {
      return new ObjectClientException(
          Kind.SERVER_ERROR,
          op.verb + " " + target(op, key) + " from " + endpoint + " broke off: " + oneLine(io.toString())
              + attempts,
          e);
    }
    return new ObjectClientException(
        Kind.OTHER, op.verb + " " + target(op, key) + " at " + endpoint + " failed: " + oneLine(String.valueOf(e.getMessage())), e);
  }

  /**
   * Error codes that say the credentials themselves are bad, whatever the status (S3 answers 400
   * to an expired session token, 403 to an unknown key or a bad signature).
   */
  private static final java.util.Set<String> CREDENTIAL_CODES = java.util.Set.of("ExpiredToken",
      "ExpiredTokenException", "InvalidToken", "TokenRefreshRequired", "InvalidAccessKeyId",
      "SignatureDoesNotMatch", "InvalidClientTokenId", "InvalidSecurity");

  /** The SDK's own "no provider in the chain had credentials". */
  private static boolean isNoCredentials(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t.getMessage() != null && t.getMessage().contains("Unable to load credentials from any of the providers")) {
        return true;
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return false;
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  /** Null when the failure does not look like "could not talk to the endpoint at all". */
  private static String unreachableReason(Throwable e) {
    if (findCause(e, UnknownHostException.class) != null) {
      return "unknown host '" + findCause(e, UnknownHostException.class).getMessage() + "'";
    }
    if (findCause(e, NoRouteToHostException.class) != null) {
      return "no route to host";
    }
    if (findCause(e, ConnectException.class) != null) {
      return "connection refused";
    }
    if (findCause(e, SSLException.class) != null) {
      return "TLS failure (" + oneLine(findCause(e, SSLException.class).getMessage()) + ")";
    }
    if (findCause(e, ApiCallAttemptTimeoutException.class) != null
        || findCause(e, ApiCallTimeoutException.class) != null
        || findCause(e, InterruptedIOException.class) != null) {
      // Apache's ConnectTimeoutException and SocketTimeoutException are both InterruptedIOExceptions.
      return "timed out";
    }
    return null;
  }

  private static String errorCode(SdkServiceException e) {
    if (e instanceof AwsServiceException ae && ae.awsErrorDetails() != null) {
      return ae.awsErrorDetails().errorCode();
    }
    return null;
  }

  private static String serviceMessage(SdkServiceException e) {
    if (e instanceof AwsServiceException ae
        && ae.awsErrorDetails() != null
        && ae.awsErrorDetails().errorMessage() != null) {
      return " (" + oneLine(ae.awsErrorDetails().errorMessage()) + ")";
    }
    return "";
  }

  private static String describeCode(String code) {
    return code == null || code.isEmpty() ? "" : " " + code;
  }

  /** The SDK records the attempt count on the exception it retried, which may be a cause. */
  private static String attempts(Throwable e) {
    for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
      if (t instanceof SdkException se && se.numAttempts() != null) {
        int n = se.numAttempts();
        return n > 1 ? " (after " + n + " attempts)" : "";
      }
    }
    return "";
  }

  private String target(Operation op, String key) {
    return switch (op) {
      case CHECK_BUCKET -> "bucket '" + bucket + "'";
      case LIST -> "'" + bucket + "/" + (key == null ? "" : key) + "'";
      default -> "'" + key + "' in bucket '" + bucket + "'";
    };
  }

  private static String oneLine(String s) {
    return s == null ? "" : s.replaceAll("\\s+", " ").trim();
  }

  private static <T extends Throwable> T findCause(Throwable e, Class<T> type) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (type.isInstance(t)) {
        return type.cast(t);
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return null;
  }

  /** The operations the object client performs, named as messages show them. */
  enum Operation {
    GET("GET"),
    HEAD("HEAD"),
    LIST("LIST"),
    CHECK_BUCKET("checking"),
    PUT("PUT"),
    MULTIPART("multipart upload of"),
    COPY("COPY"),
    DELETE("DELETE");

    final String verb;

    Operation(String verb) {
      this.verb = verb;
    }
  }
}
