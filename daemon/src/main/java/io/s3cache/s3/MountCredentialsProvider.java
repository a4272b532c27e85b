package io.s3cache.s3;

import com.codahale.metrics.Counter;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.ProfileCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.profiles.ProfileFileSupplier;
import software.amazon.awssdk.utils.SdkAutoCloseable;

/**
 * The credentials of one mount, which can change while it is mounted: a profile resolved by the
 * SDK's own providers (static keys, {@code credential_process}, SSO, {@code role_arn} with {@code
 * source_profile}, web identity), each refreshing its credentials by itself before they expire;
 * keys a mount request or {@code s3cache credentials} brought; or the daemon's own default chain.
 *
 * <p>When S3 refuses the credentials or none can be had, {@link #refused} counts it, logs one WARN
 * per mount per minute naming the mount and the fix, and, for a profile, builds its provider anew
 * (at most every {@link #REBUILD_INTERVAL_NANOS}), so keys revoked before their stated expiry are
 * fetched again instead of being served from the provider's cache until then.
 *
 * <p>Thread-safe: requests resolve through a volatile reference; replacing it closes the old one.
 */
public final class MountCredentialsProvider implements AwsCredentialsProvider, SdkAutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(MountCredentialsProvider.class);
  static final long WARN_INTERVAL_NANOS = 60_000_000_000L;
  static final long REBUILD_INTERVAL_NANOS = 5_000_000_000L;

  /** A provider, what messages call it, and whether this object closes it. */
  private record Current(AwsCredentialsProvider provider, String label, String profile, boolean owned) {}

  /** Marks a failure to obtain credentials at all (the mapper makes it a CREDENTIALS failure). */
  static final class Unavailable extends RuntimeException {
    Unavailable(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private volatile Current current;
  private volatile String mountPoint = "(not mounted yet)";
  private volatile Counter refusals = new Counter();
  private final LongSupplier nanoTime;
  private final AtomicLong lastWarn;
  private final AtomicLong lastRebuild;

  private MountCredentialsProvider(Current current, LongSupplier nanoTime) {
    this.current = current;
    this.nanoTime = nanoTime;
    long now = nanoTime.getAsLong();
    this.lastWarn = new AtomicLong(now - WARN_INTERVAL_NANOS);
    this.lastRebuild = new AtomicLong(now - REBUILD_INTERVAL_NANOS);
  }

  /** A profile of the daemon's AWS config and credentials files, re-read when they change. */
  public static MountCredentialsProvider profile(String name) {
    return new MountCredentialsProvider(profileProvider(name), System::nanoTime);
  }

  /** The SDK's default chain (environment, profile, web identity, instance role), of the daemon. */
  public static MountCredentialsProvider defaultChain() {
    return new MountCredentialsProvider(new Current(
        software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider.builder().build(),
        "the daemon's default credentials chain", null, true), System::nanoTime);
  }

  /** Keys a caller brought (a session token with them, or null). */
  public static MountCredentialsProvider keys(String accessKeyId, String secretAccessKey, String sessionToken) {
    return new MountCredentialsProvider(keysProvider(accessKeyId, secretAccessKey, sessionToken, "keys from the mount request"),
        System::nanoTime);
  }

  /**
   * {@code shared}, not closed by this object (the daemon's default chain, a test's keys).
   *
   * @param label what messages call it, e.g. "the daemon's default credentials chain"
   */
  public static MountCredentialsProvider shared(AwsCredentialsProvider shared, String label) {
    return new MountCredentialsProvider(new Current(Objects.requireNonNull(shared), label, null, false),
        System::nanoTime);
  }

  /** For tests: {@code provider} under a ticker of the test's own. */
  static MountCredentialsProvider shared(AwsCredentialsProvider provider, String label, LongSupplier nanoTime) {
    return new MountCredentialsProvider(new Current(provider, label, null, false), nanoTime);
  }

  private static Current profileProvider(String name) {
    ProfileCredentialsProvider p = ProfileCredentialsProvider.builder()
        .profileFile(ProfileFileSupplier.defaultSupplier()) // edits of ~/.aws/* apply without a remount
        .profileName(name)
        .build();
    return new Current(p, "profile '" + name + "'", name, true);
  }

  private static Current keysProvider(String id, String secret, String token, String label) {
    if (id == null || id.isBlank() || secret == null || secret.isBlank()) {
      throw new IllegalArgumentException("credentials need both an access key id and a secret access key");
    }
    AwsCredentials c = token == null || token.isBlank() ? AwsBasicCredentials.create(id, secret)
        : AwsSessionCredentials.create(id, secret, token);
    return new Current(StaticCredentialsProvider.create(c), label, null, false);
  }

  /** Names the mount in warnings and counts its refusals in {@code counter}. */
  public void attach(String mountPoint, Counter counter) {
    this.mountPoint = mountPoint;
    this.refusals = counter;
  }

  /** What the mount signs with now, for messages (never a secret). */
  public String describe() {
    return current.label();
  }

  /** {@code s3cache credentials}: from now on this mount signs with these keys. */
  public void replaceWithKeys(String accessKeyId, String secretAccessKey, String sessionToken, String from) {
    replace(keysProvider(accessKeyId, secretAccessKey, sessionToken, from));
    LOG.info("mount {}: credentials replaced ({})", mountPoint, from);
  }

  /** From now on this mount signs with {@code profile}'s credentials. */
  public void replaceWithProfile(String profile) {
    replace(profileProvider(profile));
    LOG.info("mount {}: credentials now from profile '{}'", mountPoint, profile);
  }

  private void replace(Current next) {
    Current old;
    synchronized (this) {
      old = current;
      current = next;
    }
    closeIfOwned(old);
  }

  @Override
  public AwsCredentials resolveCredentials() {
    Current c = current;
    try {
      return c.provider().resolveCredentials();
    } catch (RuntimeException e) {
      throw SdkClientException.create("no credentials from " + c.label() + ": " + firstLine(e),
          new Unavailable(firstLine(e), e));
    }
  }

  /**
   * S3 refused this mount's credentials (expired, unknown, a bad signature), or none could be had.
   *
   * @param reason one line: what S3 or the provider said
   */
  public void refused(String reason) {
    refusals.inc();
    long now = nanoTime.getAsLong();
    Current c = current;
    if (c.profile() != null) {
      long last = lastRebuild.get();
      if (now - last >= REBUILD_INTERVAL_NANOS && lastRebuild.compareAndSet(last, now)) {
        // The provider's cache keeps keys until their stated expiry; revoked sooner, they are
        // asked for again now (the next request uses what the profile gives then).
        synchronized (this) {
          if (current == c) {
            current = profileProvider(c.profile());
          }
        }
        if (current != c) {
          closeIfOwned(c);
        }
      }
    }
    long warned = lastWarn.get();
    if (now - warned >= WARN_INTERVAL_NANOS && lastWarn.compareAndSet(warned, now)) {
      LOG.warn("mount {}: S3 refused its credentials ({}; {}): reads of uncached data fail with EACCES until "
          + "they are renewed: run 's3cache credentials {}' in a shell that has fresh ones, or mount with "
          + "-o profile=NAME so the SDK renews them", mountPoint, c.label(), reason, mountPoint);
    }
  }

  @Override
  public void close() {
    closeIfOwned(current);
  }

  private static void closeIfOwned(Current c) {
    if (c.owned() && c.provider() instanceof SdkAutoCloseable closeable) {
      closeable.close();
    }
  }

  private static String firstLine(Throwable e) {
    String m = String.valueOf(e.getMessage());
    int nl = m.indexOf('\n');
    return (nl < 0 ? m : m.substring(0, nl)).trim();
  }
}
