package io.s3cache.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.codahale.metrics.Counter;
import com.codahale.metrics.MetricRegistry;
import io.s3cache.embedded.EmbeddedS3Server;
import io.s3cache.s3.ObjectClientException.Kind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.sync.RequestBody;

/**
 * Issue 15 item 5: credentials that expire under a long job. A real S3 server on 127.0.0.1 that
 * accepts only the key pairs a test lets it (as after a rotation); the mount's client signs with
 * a {@link MountCredentialsProvider}.
 */
class MountCredentialsProviderTest {

  private static final String BUCKET = "creds";

  @TempDir static Path dataDir;
  static EmbeddedS3Server server;

  @TempDir Path dir;
  private final MetricRegistry metrics = new MetricRegistry();
  private final Counter refused = new Counter();
  private final ListAppender<ILoggingEvent> log = new ListAppender<>();
  private final Logger logger = (Logger) LoggerFactory.getLogger(MountCredentialsProvider.class);
  private ObjectClient client;

  @BeforeAll
  static void startServer() {
    try {
      server = EmbeddedS3Server.start(dataDir);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    server.createBucket(BUCKET);
    server.client().putObject(b -> b.bucket(BUCKET).key("k"), RequestBody.fromString("bytes"));
  }

  @AfterAll
  static void stopServer() {
    server.close();
  }

  @BeforeEach
  void captureLog() {
    log.start();
    logger.addAppender(log);
  }

  @AfterEach
  void release() {
    logger.detachAppender(log);
    if (client != null) {
      client.close();
    }
    System.clearProperty("aws.configFile");
    System.clearProperty("aws.sharedCredentialsFile");
  }

  private ObjectClient client(MountCredentialsProvider credentials) {
    credentials.attach("/mnt/test", refused);
    client = ObjectClients.create(BUCKET, S3Config.defaults().withEndpoint(server.endpoint()).withPathStyle(true)
        .withChecksumMode(S3Config.ChecksumMode.WHEN_REQUIRED), metrics, credentials);
    return client;
  }

  private List<String> warnings() {
    return log.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage).toList();
  }

  @Test
  void revokedKeysFailAsCredentialsAndNewKeysPushedToTheMountWorkAtOnce() throws Exception {
    server.acceptKeys("old-key", "old-secret");
    MountCredentialsProvider credentials = MountCredentialsProvider.keys("old-key", "old-secret", null);
    ObjectClient c = client(credentials);
    assertEquals(5, c.head("k").size());

    server.revokeKeys("old-key");
    server.acceptKeys("new-key", "new-secret");
    ObjectClientException e = assertThrows(ObjectClientException.class, () -> get(c));
    assertEquals(Kind.CREDENTIALS, e.kind());
    assertTrue(e.getMessage().contains("InvalidAccessKeyId"), e.getMessage());
    // A HEAD's 403 has no body to tell a refused key from a policy: access denied, EACCES all the same.
    assertEquals(Kind.ACCESS_DENIED, assertThrows(ObjectClientException.class, () -> c.head("k")).kind());
    assertEquals(1, refused.getCount());
    assertEquals(1, warnings().size());
    assertTrue(warnings().get(0).contains("mount /mnt/test") && warnings().get(0).contains("s3cache credentials /mnt/test"),
        warnings().get(0));
    assertTrue(!warnings().get(0).contains("old-secret"), "no secret in the log");

    credentials.replaceWithKeys("new-key", "new-secret", null, "keys new-key from s3cache credentials");
    assertEquals(5, get(c));
    assertEquals("keys new-key from s3cache credentials", credentials.describe());
  }

  @Test
  void aProviderThatHasNoCredentialsFailsAsCredentialsNotAsAnIoError() {
    MountCredentialsProvider credentials = MountCredentialsProvider.shared(() -> {
      throw SdkClientException.create("credential_process exited with status 1");
    }, "profile 'broken'");
    ObjectClient c = client(credentials);
    ObjectClientException e = assertThrows(ObjectClientException.class, () -> c.head("k"));
    assertEquals(Kind.CREDENTIALS, e.kind());
    assertTrue(e.getMessage().contains("profile 'broken'") && e.getMessage().contains("exited with status 1"),
        e.getMessage());
    assertEquals(1, refused.getCount());
  }

  @Test
  void oneWarningPerMountPerMinuteAndEveryRefusalCounted() {
    AtomicLong now = new AtomicLong();
    MountCredentialsProvider credentials = MountCredentialsProvider.shared(
        StaticCredentialsProvider.create(AwsBasicCredentials.create("a", "b")), "keys a", now::get);
    credentials.attach("/mnt/x", refused);
    credentials.refused("ExpiredToken");
    now.addAndGet(30_000_000_000L);
    credentials.refused("ExpiredToken");
    now.addAndGet(MountCredentialsProvider.WARN_INTERVAL_NANOS - 30_000_000_000L);
    credentials.refused("ExpiredToken");
    assertEquals(3, refused.getCount());
    assertEquals(2, warnings().size());
  }

  /**
   * A profile whose credential_process hands out the current pair: after a rotation the provider's
   * cached keys are refused; the refusal makes the mount ask the profile again, and the next request
   * signs with the new pair, with no remount and no push.
   */
  @Test
  void aCredentialProcessProfileRecoversFromARotationByItself() throws Exception {
    Path current = dir.resolve("current.json");
    Path script = dir.resolve("creds.sh");
    Files.writeString(script, "#!/bin/sh\ncat '" + current + "'\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
    Path config = dir.resolve("config");
    Files.writeString(config, "[profile rotating]\ncredential_process = " + script + "\n");
    System.setProperty("aws.configFile", config.toString());
    System.setProperty("aws.sharedCredentialsFile", dir.resolve("no-credentials").toString());
    issue(current, "rot-1");
    server.acceptKeys("rot-1", "secret-rot-1");

    MountCredentialsProvider credentials = MountCredentialsProvider.profile("rotating");
    ObjectClient c = client(credentials);
    assertEquals(5, c.head("k").size());

    server.revokeKeys("rot-1");
    server.acceptKeys("rot-2", "secret-rot-2");
    issue(current, "rot-2");
    assertEquals(Kind.CREDENTIALS, assertThrows(ObjectClientException.class, () -> get(c)).kind(),
        "the provider still holds the revoked pair: it said it lasts an hour");
    assertEquals(5, get(c), "asked the profile again after the refusal");
    assertEquals(1, refused.getCount());
    server.revokeKeys("rot-2");
  }

  /**
   * role_arn (with source_profile), web identity and SSO profiles are resolved by providers the
   * SDK loads from its sts, sso and ssooidc modules: without them on the class path such a
   * profile fails with "... module must be on the class path". Here the providers exist and fail
   * only for want of an STS endpoint or an SSO login.
   */
  @Test
  void roleWebIdentityAndSsoProfilesHaveTheirProvidersOnTheClassPath() throws Exception {
    Path config = dir.resolve("config");
    Files.writeString(config, String.join("\n",
        "[profile base]", "aws_access_key_id = base", "aws_secret_access_key = base-secret",
        "[profile role]", "role_arn = arn:aws:iam::123456789012:role/train", "source_profile = base",
        "region = us-east-1", "endpoint_url = http://127.0.0.1:1",
        "[profile web]", "role_arn = arn:aws:iam::123456789012:role/train",
        "web_identity_token_file = " + dir.resolve("token"), "region = us-east-1", "endpoint_url = http://127.0.0.1:1",
        "[profile sso]", "sso_session = corp", "sso_account_id = 123456789012", "sso_role_name = train",
        "region = us-east-1",
        "[sso-session corp]", "sso_start_url = https://corp.awsapps.com/start", "sso_region = us-east-1", ""));
    Files.writeString(dir.resolve("token"), "a-web-identity-token");
    System.setProperty("aws.configFile", config.toString());
    System.setProperty("aws.sharedCredentialsFile", dir.resolve("no-credentials").toString());
    for (String profile : List.of("role", "web", "sso")) {
      try (MountCredentialsProvider p = MountCredentialsProvider.profile(profile)) {
        SdkClientException e = assertThrows(SdkClientException.class, p::resolveCredentials, profile);
        String all = String.valueOf(e.getMessage()) + " / " + e.getCause();
        assertTrue(!all.contains("must be on the class path") && all.contains("profile '" + profile + "'"),
            profile + ": " + all);
      }
    }
  }

  /** A GET of the test object (an error body with S3's code comes back); its length. */
  private static int get(ObjectClient c) throws ObjectClientException {
    java.nio.ByteBuffer dst = java.nio.ByteBuffer.allocate(5);
    c.getRange("k", null, 0, dst);
    return dst.position();
  }

  /** What the credential_process prints: the pair {@code id}, stated to last an hour. */
  private static void issue(Path current, String id) throws Exception {
    Files.writeString(current, "{\"Version\": 1, \"AccessKeyId\": \"" + id + "\", \"SecretAccessKey\": \"secret-" + id
        + "\", \"Expiration\": \"" + Instant.now().plusSeconds(3600) + "\"}\n");
  }
}
