package io.s3cache.e2e;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectClients;
import io.s3cache.s3.S3Config;
import io.s3cache.testing.ObjectClientContract;
import java.net.URI;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/** {@link ObjectClientContract} against a real S3 server, through the SDK client s3cache mounts with. */
abstract class S3ServerContract extends ObjectClientContract {

  /** A started server with an empty bucket {@link #bucket()}. */
  abstract URI endpoint();

  abstract AwsCredentialsProvider credentials();

  abstract S3Client sdk();

  @Override
  protected ObjectClient client(String bucket, int maxAttempts) {
    S3Config config = S3Config.defaults().withEndpoint(endpoint()).withPathStyle(true)
        .withChecksumMode(S3Config.ChecksumMode.WHEN_REQUIRED).withMaxAttempts(maxAttempts);
    return ObjectClients.create(bucket, config, new MetricRegistry(), credentials());
  }

  @Override
  protected void put(String key, byte[] bytes) {
    sdk().putObject(b -> b.bucket(bucket()).key(key), RequestBody.fromBytes(bytes));
  }
}
