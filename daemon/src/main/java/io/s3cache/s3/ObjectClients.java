package io.s3cache.s3;

import com.codahale.metrics.Counter;
import com.codahale.metrics.MetricRegistry;
import io.s3cache.metrics.MetricNames;
import java.io.EOFException;
import java.util.Objects;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.RetryableException;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.retries.api.BackoffStrategy;
import software.amazon.awssdk.retries.api.RetryStrategy;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.awscore.endpoints.AwsEndpointAttribute;
import software.amazon.awssdk.awscore.endpoints.authscheme.EndpointAuthScheme;
import software.amazon.awssdk.awscore.endpoints.authscheme.SigV4AuthScheme;
import software.amazon.awssdk.endpoints.Endpoint;
import software.amazon.awssdk.services.s3.endpoints.S3EndpointParams;
import software.amazon.awssdk.services.s3.endpoints.S3EndpointProvider;

/** Creates {@link ObjectClient}s for a bucket from an {@link S3Config}. */
public final class ObjectClients {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ObjectClients.class);

  private ObjectClients() {}

  /** A client whose credentials come from the SDK's default chain (env, profiles, web identity, instance role). */
  public static ObjectClient create(String bucket, S3Config config, MetricRegistry metrics) {
    return create(bucket, config, metrics, null);
  }

  /**
   * A client for {@code bucket}.
   *
   * @param credentials the credentials to sign with, or null for the SDK's default chain; a
   *     provider passed in is not closed by the client. A {@link MountCredentialsProvider} hears of
   *     every request refused for its credentials.
   */
  public static ObjectClient create(
      String bucket, S3Config config, MetricRegistry metrics, AwsCredentialsProvider credentials) {
    if (bucket == null || bucket.isBlank()) {
      throw new IllegalArgumentException("bucket name must not be empty");
    }
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(metrics, "metrics");
    DefaultCredentialsProvider owned = null;
    if (credentials == null) {
      owned = DefaultCredentialsProvider.builder().build();
      credentials = owned;
    }
    S3Client s3 = buildSdkClient(config, credentials, metrics.counter(MetricNames.S3_ATTEMPTS));
    java.util.function.Consumer<String> refused = credentials instanceof MountCredentialsProvider m
        ? m::refused : reason -> {};
    ObjectClient sdk =
        new SdkObjectClient(s3, bucket, config.endpointLabel(), metrics, owned, config.maxAttempts(), refused);
    if (config.getClient() != S3Config.GetClient.DIRECT) {
      return sdk;
    }
    DirectGetClient.Where where = directWhere(bucket, config);
    if (where == null) {
      return sdk;
    }
    return new DirectGetClient(sdk, bucket, where, config, credentials,
        (javax.net.ssl.SSLSocketFactory) javax.net.ssl.SSLSocketFactory.getDefault(), metrics, refused);
  }

  /**
   * Where the SDK would send a GET of an object in {@code bucket} and how it would sign it, from
   * the SDK's own S3 endpoint rules; null where the direct client must leave GETs to the SDK: an
   * HTTP proxy configured for the scheme (the SDK's Apache client honours it), FIPS or dual-stack
   * endpoints asked for in the environment or JVM properties, an endpoint signed other than with
   * SigV4 (multi-region access points, S3 Express) or one that needs extra headers.
   */
  static DirectGetClient.Where directWhere(String bucket, S3Config config) {
    S3EndpointParams.Builder params = S3EndpointParams.builder().bucket(bucket)
        .region(Region.of(config.region())).forcePathStyle(config.pathStyle());
    if (config.endpoint() != null) {
      params.endpoint(config.endpoint().toString());
    }
    Endpoint endpoint;
    try {
      endpoint = S3EndpointProvider.defaultProvider().resolveEndpoint(params.build()).join();
    } catch (RuntimeException e) {
      return null; // the SDK client reports the same problem on its first request, in its words
    }
    java.util.List<EndpointAuthScheme> schemes = endpoint.attribute(AwsEndpointAttribute.AUTH_SCHEMES);
    String sdkOnly = !(schemes != null && !schemes.isEmpty() && schemes.get(0) instanceof SigV4AuthScheme)
        ? "the endpoint is not signed with SigV4"
        : !endpoint.headers().isEmpty() ? "the endpoint needs headers of its own"
        : proxied(endpoint.url().getScheme()) ? "an HTTP proxy is configured for " + endpoint.url().getScheme()
        : endpointVariant() ? "a FIPS or dual-stack endpoint is asked for" : null;
    if (sdkOnly != null) {
      LOG.info("get_client=direct: GETs of bucket '{}' go through the SDK: {}", bucket, sdkOnly);
      return null;
    }
    SigV4AuthScheme v4 = (SigV4AuthScheme) schemes.get(0);
    return new DirectGetClient.Where(endpoint.url(), v4.signingName(),
        v4.signingRegion() != null ? v4.signingRegion() : config.region());
  }

  /**
   * Whether the environment or the JVM's properties ask the SDK for a FIPS or dual-stack endpoint,
   * which its client resolves and this resolution would not.
   */
  private static boolean endpointVariant() {
    for (String[] setting : new String[][] {{"AWS_USE_FIPS_ENDPOINT", "aws.useFipsEndpoint"},
        {"AWS_USE_DUALSTACK_ENDPOINT", "aws.useDualstackEndpoint"}}) {
      if (System.getenv(setting[0]) != null || System.getProperty(setting[1]) != null) {
        return true;
      }
    }
    return false;
  }

  /** Whether the JVM's properties or the environment name an HTTP proxy for {@code scheme}. */
  private static boolean proxied(String scheme) {
    String s = scheme.toLowerCase(java.util.Locale.ROOT);
    return System.getProperty(s + ".proxyHost") != null
        || System.getenv(s + "_proxy") != null || System.getenv(s.toUpperCase(java.util.Locale.ROOT) + "_PROXY") != null;
  }

  /**
   * A plain SDK client with this config's endpoint, region, retries and checksum mode, for writing
   * (the dataset generator). The caller closes it.
   *
   * @param credentials null for the SDK's default chain
   */
  public static S3Client sdkClient(S3Config config, AwsCredentialsProvider credentials) {
    return buildSdkClient(config, credentials == null ? DefaultCredentialsProvider.builder().build() : credentials,
        new Counter());
  }

  static S3Client buildSdkClient(S3Config config, AwsCredentialsProvider credentials, Counter attempts) {
    BackoffStrategy backoff = BackoffStrategy.exponentialDelay(config.baseBackoff(), config.maxBackoff());
    RetryStrategy retry =
        AwsRetryStrategy.standardRetryStrategy().toBuilder()
            .maxAttempts(config.maxAttempts())
            .backoffStrategy(backoff)
            .throttlingBackoffStrategy(backoff)
            .build();
    ExecutionInterceptor countAttempts =
        new ExecutionInterceptor() {
          @Override
          public void beforeTransmission(Context.BeforeTransmission context, ExecutionAttributes attributes) {
            attempts.inc();
          }
        };
    // A LIST answer cut short can parse as a valid, empty listing (an empty or chunked body that
    // ends early): S3 always sends IsTruncated, so its absence means the body broke off. Throwing
    // here, inside the attempt, makes the SDK retry it like any other broken answer.
    ExecutionInterceptor completeListings =
        new ExecutionInterceptor() {
          @Override
          public void afterUnmarshalling(Context.AfterUnmarshalling context, ExecutionAttributes attributes) {
            if (context.response() instanceof ListObjectsV2Response r && r.isTruncated() == null) {
              throw RetryableException.create("LIST answer broke off: it has no IsTruncated element",
                  new EOFException("LIST answer without IsTruncated"));
            }
          }
        };
    boolean whenRequired = config.checksumMode() == S3Config.ChecksumMode.WHEN_REQUIRED;
    S3ClientBuilder builder =
        S3Client.builder()
            .httpClientBuilder(
                ApacheHttpClient.builder()
                    .maxConnections(config.maxConnections())
                    .connectionTimeout(config.connectTimeout())
                    .socketTimeout(config.requestTimeout()))
            .region(Region.of(config.region()))
            .credentialsProvider(credentials)
            .forcePathStyle(config.pathStyle())
            .requestChecksumCalculation(
                whenRequired ? RequestChecksumCalculation.WHEN_REQUIRED : RequestChecksumCalculation.WHEN_SUPPORTED)
            .responseChecksumValidation(
                whenRequired ? ResponseChecksumValidation.WHEN_REQUIRED : ResponseChecksumValidation.WHEN_SUPPORTED)
            .overrideConfiguration(
                o -> o.retryStrategy(retry)
                    .apiCallAttemptTimeout(config.requestTimeout())
                    .addExecutionInterceptor(countAttempts)
                    .addExecutionInterceptor(completeListings));
    if (config.endpoint() != null) {
      builder.endpointOverride(config.endpoint());
    }
    return builder.build();
  }
}
