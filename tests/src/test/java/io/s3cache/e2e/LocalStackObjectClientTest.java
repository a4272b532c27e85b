package io.s3cache.e2e;

import java.net.URI;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.condition.EnabledIf;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.localstack.LocalStackContainer;
import org.testcontainers.utility.DockerImageName;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;

/**
 * The S3 contract against LocalStack in a container. Needs a Docker engine; where there is none (as
 * on our build machines) every test is skipped with that reason, and S3Proxy runs the contract.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@EnabledIf(value = "dockerAvailable",
    disabledReason = "no Docker engine on this machine: the LocalStack run of the S3 contract is skipped "
        + "(S3ProxyObjectClientTest runs the same tests)")
class LocalStackObjectClientTest extends S3ServerContract {

  static boolean dockerAvailable() {
    return DockerClientFactory.instance().isDockerAvailable();
  }

  private LocalStackContainer localstack;
  private S3Client sdk;

  @BeforeAll
  void start() {
    localstack = new LocalStackContainer(DockerImageName.parse("localstack/localstack:3.8"))
        .withServices(LocalStackContainer.Service.S3);
    localstack.start();
    sdk = S3Client.builder().endpointOverride(endpoint()).credentialsProvider(credentials())
        .region(Region.of(localstack.getRegion()))
        .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(true).build()).build();
    sdk.createBucket(b -> b.bucket(bucket()));
  }

  @AfterAll
  void stop() {
    if (sdk != null) {
      sdk.close();
    }
    if (localstack != null) {
      localstack.stop();
    }
  }

  @Override
  URI endpoint() {
    return localstack.getEndpoint();
  }

  @Override
  AwsCredentialsProvider credentials() {
    return StaticCredentialsProvider.create(
        AwsBasicCredentials.create(localstack.getAccessKey(), localstack.getSecretKey()));
  }

  @Override
  S3Client sdk() {
    return sdk;
  }

  @Override
  protected String bucket() {
    return "contract";
  }
}
