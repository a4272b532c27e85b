package io.s3cache.e2e;

import io.s3cache.embedded.EmbeddedS3Server;
import java.net.URI;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.services.s3.S3Client;

/** The S3 contract against S3Proxy embedded on 127.0.0.1 (filesystem backend). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class S3ProxyObjectClientTest extends S3ServerContract {

  private EmbeddedS3Server server;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    server = EmbeddedS3Server.start(dir);
    server.createBucket(bucket());
  }

  @AfterAll
  void stop() {
    server.close();
  }

  @Override
  URI endpoint() {
    return server.endpoint();
  }

  @Override
  AwsCredentialsProvider credentials() {
    return server.credentials();
  }

  @Override
  S3Client sdk() {
    return server.client();
  }

  @Override
  protected String bucket() {
    return "contract";
  }
}
