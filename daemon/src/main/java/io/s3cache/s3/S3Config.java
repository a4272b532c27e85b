package io.s3cache.s3;

import java.net.URI;
import java.time.Duration;
import java.util.Objects;

/**
 * How to talk to the S3-compatible store: endpoint, addressing, checksums, connection pool,
 * timeouts and retries. Built once from the config file and passed to {@link ObjectClients}.
 *
 * @param endpoint base URI of the store, e.g. {@code http://127.0.0.1:9000}; null means AWS S3
 *     (the SDK derives the endpoint from the region)
 * @param region signing region; {@code us-east-1} suits most S3-compatible stores
 * @param pathStyle {@code http://host/bucket/key} instead of {@code http://bucket.host/key}; most
 *     self-hosted stores need it
 * @param checksumMode whether the SDK sends and validates checksums whenever it can or only when
 *     an operation requires them; many S3-compatible stores need {@link ChecksumMode#WHEN_REQUIRED}
 * @param maxConnections HTTP connection pool size
 * @param connectTimeout TCP connect timeout
 * @param requestTimeout bound on one attempt of one request, body included (also the socket read
 *     timeout); retries get a fresh bound each
 * @param maxAttempts attempts per request including the first (1 = no retries)
 * @param baseBackoff base delay of the exponential backoff with full jitter between attempts
 * @param maxBackoff cap on the delay between attempts
 * @param getClient what makes the read path's ranged GETs
 */
public record S3Config(
    URI endpoint,
    String region,
    boolean pathStyle,
    ChecksumMode checksumMode,
    int maxConnections,
    Duration connectTimeout,
    Duration requestTimeout,
    int maxAttempts,
    Duration baseBackoff,
    Duration maxBackoff,
    GetClient getClient) {

  /**
   * Maps to both the SDK's {@code requestChecksumCalculation} and {@code
   * responseChecksumValidation}.
   */
  public enum ChecksumMode {
    /** Send and validate checksums on every operation that supports them (the SDK default). */
    WHEN_SUPPORTED,
    /** Only where the operation requires them; for stores that reject trailing checksums. */
    WHEN_REQUIRED
  }

  /** What makes the read path's ranged GETs; every other request goes through the SDK. */
  public enum GetClient {
    /**
     * The daemon's own HTTP/1.1 connections ({@code DirectGetClient}), signed by the SDK's signer;
     * the SDK instead where it must be (an HTTP proxy configured, an endpoint that is not signed
     * with SigV4).
     */
    DIRECT,
    /** The SDK's Apache client, like every other request. */
    SDK
  }

  public static final String DEFAULT_REGION = "us-east-1";

  public S3Config {
    if (endpoint != null) {
      String scheme = endpoint.getScheme();
      if (!"http".equalsIgnoreCase(scheme) && !"https".equalsIgnoreCase(scheme)) {
        throw new IllegalArgumentException(
            "s3 endpoint must start with http:// or https://, got '" + endpoint + "'");
      }
      if (endpoint.getHost() == null) {
        throw new IllegalArgumentException("s3 endpoint has no host: '" + endpoint + "'");
      }
    }
    if (region == null || region.isBlank()) {
      throw new IllegalArgumentException("s3 region must not be empty");
    }
    Objects.requireNonNull(checksumMode, "s3 checksum mode must be set");
    Objects.requireNonNull(getClient, "s3 get client must be set");
    if (maxConnections < 1) {
      throw new IllegalArgumentException("s3 max connections must be at least 1, got " + maxConnections);
    }
    requirePositive("connect timeout", connectTimeout);
    requirePositive("request timeout", requestTimeout);
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("s3 max attempts must be at least 1, got " + maxAttempts);
    }
    requirePositive("base backoff", baseBackoff);
    requirePositive("max backoff", maxBackoff);
    if (maxBackoff.compareTo(baseBackoff) < 0) {
      throw new IllegalArgumentException(
          "s3 max backoff (" + maxBackoff + ") must not be less than base backoff (" + baseBackoff + ")");
    }
  }

  private static void requirePositive(String what, Duration d) {
    if (d == null || d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException("s3 " + what + " must be positive, got " + d);
    }
  }

  /**
   * AWS S3 in us-east-1, virtual-hosted addressing, SDK checksum defaults, 3 attempts of at most 9 s
   * each: a stalled store fails a request within {@link #worstCase()} = 27.3 s.
   */
  public static S3Config defaults() {
    return new S3Config(
        null,
        DEFAULT_REGION,
        false,
        ChecksumMode.WHEN_SUPPORTED,
        64,
        Duration.ofSeconds(5),
        Duration.ofSeconds(9),
        3,
        Duration.ofMillis(100),
        Duration.ofSeconds(5),
        GetClient.DIRECT);
  }

  /**
   * The longest one request can take before it fails, when the store accepts connections and then
   * answers nothing: every attempt cut off at {@code requestTimeout} (connect included), plus the
   * longest backoff before each retry ({@code baseBackoff} doubling, capped at {@code maxBackoff};
   * the jitter only shortens it). docs/CONFIGURATION.md states it for the defaults.
   */
  public Duration worstCase() {
    Duration total = requestTimeout.multipliedBy(maxAttempts);
    Duration backoff = baseBackoff;
    for (int retry = 1; retry < maxAttempts; retry++) {
      total = total.plus(backoff.compareTo(maxBackoff) > 0 ? maxBackoff : backoff);
      if (backoff.compareTo(maxBackoff) < 0) {
        backoff = backoff.multipliedBy(2);
      }
    }
    return total;
  }

  /** What messages call the store: the endpoint URI, or AWS S3 and its region. */
  public String endpointLabel() {
    return endpoint != null ? endpoint.toString() : "AWS S3 (" + region + ")";
  }

  public S3Config withEndpoint(URI endpoint) {
    return new S3Config(endpoint, region, pathStyle, checksumMode, maxConnections,
        connectTimeout, requestTimeout, maxAttempts, baseBackoff, maxBackoff, getClient);
  }

  public S3Config withRegion(String region) {
    return new S3Config(endpoint, region, pathStyle, checksumMode, maxConnections,
        connectTimeout, requestTimeout, maxAttempts, baseBackoff, maxBackoff, getClient);
  }

  public S3Config withPathStyle(boolean pathStyle) {
    return new S3Config(endpoint, region, pathStyle, checksumMode, maxConnections,
        connectTimeout, requestTimeout, maxAttempts, baseBackoff, maxBackoff, getClient);
  }

  public S3Config withChecksumMode(ChecksumMode checksumMode) {
    return new S3Config(endpoint, region, pathStyle, checksumMode, maxConnections,
        connectTimeout, requestTimeout, maxAttempts, baseBackoff, maxBackoff, getClient);
  }

  public S3Config withMaxConnections(int maxConnections) {
    return new S3Config(endpoint, region, pathStyle, checksumMode, maxConnections,
        connectTimeout, requestTimeout, maxAttempts, baseBackoff, maxBackoff, getClient);
  }

  public S3Config withTimeouts(Duration connectTimeout, Duration requestTimeout) {
    return new S3Config(endpoint, region, pathStyle, checksumMode, maxConnections,
        connectTimeout, requestTimeout, maxAttempts, baseBackoff, maxBackoff, getClient);
  }

  public S3Config withMaxAttempts(int maxAttempts) {
    return new S3Config(endpoint, region, pathStyle, checksumMode, maxConnections,
        connectTimeout, requestTimeout, maxAttempts, baseBackoff, maxBackoff, getClient);
  }

  public S3Config withBackoff(Duration baseBackoff, Duration maxBackoff) {
    return new S3Config(endpoint, region, pathStyle, checksumMode, maxConnections,
        connectTimeout, requestTimeout, maxAttempts, baseBackoff, maxBackoff, getClient);
  }

  public S3Config withGetClient(GetClient getClient) {
    return new S3Config(endpoint, region, pathStyle, checksumMode, maxConnections,
        connectTimeout, requestTimeout, maxAttempts, baseBackoff, maxBackoff, getClient);
  }
}
