package io.s3cache.embedded;

import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import org.gaul.s3proxy.AccessGrant;
import org.gaul.s3proxy.BlobStores;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.blobstore.BlobStore;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * An S3 server on loopback for tests, {@code s3cache demo} and benchmarks: S3Proxy with its
 * filesystem backend (objects are files under the data directory, so large objects do not sit on
 * the heap). Requests must be signed (SigV2 or SigV4) with {@link #ACCESS_KEY}/{@link #SECRET_KEY}.
 *
 * <p>S3Proxy 4.x no longer uses jclouds, but keeps the jclouds property names for its backends
 * ({@code jclouds.filesystem.basedir}); {@code S3Proxy.Builder.fromProperties} reads only the
 * {@code s3proxy.*} keys, so the backend is created separately and handed to the builder.
 */
public final class EmbeddedS3Server implements AutoCloseable {

  public static final String ACCESS_KEY = "s3cache";
  public static final String SECRET_KEY = "s3cache-secret";
  /** {@link #ACCESS_KEY} and {@link #SECRET_KEY} for an SDK client (also one in another process's tools). */
  public static final AwsCredentialsProvider CREDENTIALS =
      StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY));
  public static final String REGION = "us-east-1";

  private final S3Proxy proxy;
  private final BlobStore blobStore;
  private final Path dataDir;
  private final URI endpoint;
  private S3Client client; // guarded by this
  /** Access key id to secret of every key pair the server accepts now. */
  private final Map<String, String> keys = new ConcurrentHashMap<>(Map.of(ACCESS_KEY, SECRET_KEY));

  private EmbeddedS3Server(S3Proxy proxy, BlobStore blobStore, Path dataDir, URI endpoint) {
    this.proxy = proxy;
    this.blobStore = blobStore;
    this.dataDir = dataDir;
    this.endpoint = endpoint;
    // Every request is checked against the key pairs accepted at that moment: an unknown or
    // revoked key id gets S3's 403 InvalidAccessKeyId, as rotated or expired keys do.
    proxy.setBlobStoreLocator((identity, container, blob) -> {
      String secret = identity == null ? null : keys.get(identity);
      return secret == null ? null : new AccessGrant(secret, blobStore);
    });
  }

  /** From now on the server also accepts this key pair (for tests of rotating credentials). */
  public void acceptKeys(String accessKeyId, String secretAccessKey) {
    keys.put(accessKeyId, secretAccessKey);
  }

  /** From now on requests signed with this key id are refused (403 InvalidAccessKeyId). */
  public void revokeKeys(String accessKeyId) {
    keys.remove(accessKeyId);
  }

  /** Starts a server on 127.0.0.1 on an ephemeral port, storing buckets under {@code dataDir}. */
  public static EmbeddedS3Server start(Path dataDir) throws IOException {
    return start(dataDir, 0);
  }

  /**
   * Starts a server on 127.0.0.1:{@code port} (0 = ephemeral), storing buckets as directories
   * under {@code dataDir} (created if missing). Existing directories there are served as buckets.
   */
  public static EmbeddedS3Server start(Path dataDir, int port) throws IOException {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port must be in 0..65535, got " + port);
    }
    Path root = Files.createDirectories(dataDir).toAbsolutePath();
    Properties props = new Properties();
    props.setProperty("s3proxy.endpoint", "http://127.0.0.1:" + port);
    props.setProperty("s3proxy.authorization", "aws-v2-or-v4");
    props.setProperty("s3proxy.identity", ACCESS_KEY);
    props.setProperty("s3proxy.credential", SECRET_KEY);
    props.setProperty("jclouds.provider", "filesystem");
    props.setProperty("jclouds.filesystem.basedir", root.toString());
    props.setProperty("jclouds.identity", ACCESS_KEY);
    props.setProperty("jclouds.credential", SECRET_KEY);

    BlobStore blobStore = BlobStores.create("filesystem", props);
    S3Proxy proxy;
    try {
      proxy = S3Proxy.Builder.fromProperties(props).blobStore(blobStore).build();
    } catch (Exception e) {
      blobStore.close();
      throw new IOException("cannot configure embedded S3 server: " + e.getMessage(), e);
    }
    try {
      proxy.start();
    } catch (Exception e) {
      stopQuietly(proxy, blobStore);
      throw new IOException("cannot start embedded S3 server on 127.0.0.1:" + port + ": " + e.getMessage(), e);
    }
    // With port 0 the configured endpoint says :0; the connector knows the port actually bound.
    int bound = proxy.getPort();
    if (bound <= 0) {
      stopQuietly(proxy, blobStore);
      throw new IOException("embedded S3 server did not bind a port (state " + proxy.getState() + ")");
    }
    return new EmbeddedS3Server(proxy, blobStore, root, URI.create("http://127.0.0.1:" + bound));
  }

  /** Settings for mounting this server's buckets with its cache in {@code cacheDir}. */
  public Settings mountSettings(Path cacheDir) {
    return new Settings()
        .set(SettingKey.ENDPOINT, endpoint().toString())
        .set(SettingKey.PATH_STYLE, "true")
        .set(SettingKey.CACHE_DIR, cacheDir.toString());
  }

  /** The URI the server is listening on, with the real port. */
  public URI endpoint() {
    return endpoint;
  }

  public int port() {
    return endpoint.getPort();
  }

  public String accessKey() {
    return ACCESS_KEY;
  }

  public String secretKey() {
    return SECRET_KEY;
  }

  public String region() {
    return REGION;
  }

  /** Where buckets live: one directory per bucket, one file per object. */
  public Path dataDir() {
    return dataDir;
  }

  /** Static credentials matching the server's configured identity. */
  public AwsCredentialsProvider credentials() {
    return CREDENTIALS;
  }

  /** Creates a bucket (a directory under {@link #dataDir()}). */
  public void createBucket(String name) {
    client().createBucket(b -> b.bucket(name));
  }

  /**
   * An SDK client for this server (path-style, us-east-1, checksums only when required, static
   * credentials), e.g. to upload test data. Owned by the server: closed by {@link #close()}.
   */
  public synchronized S3Client client() {
    if (client == null) {
      client = clientFor(endpoint);
    }
    return client;
  }

  /**
   * An SDK client for an embedded server at {@code endpoint}, possibly in another process (path-style,
   * us-east-1, checksums only when required, this class's credentials); the caller closes it.
   */
  public static S3Client clientFor(URI endpoint) {
    return S3Client.builder()
        .httpClientBuilder(ApacheHttpClient.builder())
        .endpointOverride(endpoint)
        .region(Region.of(REGION))
        .forcePathStyle(true)
        .credentialsProvider(CREDENTIALS)
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
        .build();
  }

  /** Stops Jetty (waiting for its threads) and closes the backend and the convenience client. */
  @Override
  public synchronized void close() {
    if (client != null) {
      client.close();
      client = null;
    }
    stopQuietly(proxy, blobStore);
  }

  private static void stopQuietly(S3Proxy proxy, BlobStore blobStore) {
    try {
      proxy.stop();
    } catch (Exception e) {
      throw new IllegalStateException("cannot stop embedded S3 server: " + e.getMessage(), e);
    } finally {
      blobStore.close();
    }
  }

  @Override
  public String toString() {
    return "EmbeddedS3Server[" + endpoint + ", " + dataDir + "]";
  }
}
