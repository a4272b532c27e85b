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

/** Creates {@link ObjectClient}s for a bucket from an {@link S3Config}. */
public final class ObjectClients {
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
    return new SdkObjectClient(s3, bucket, config.endpointLabel(), metrics, owned, config.maxAttempts(), refused);
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
