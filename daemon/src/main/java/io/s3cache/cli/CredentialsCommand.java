package io.s3cache.cli;

import io.s3cache.config.ConfigException;
import io.s3cache.control.ControlClient;
import io.s3cache.control.CredentialsRequest;
import io.s3cache.control.CredentialsResult;
import io.s3cache.control.MountCredentials;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;

/**
 * {@code s3cache credentials MOUNTPOINT}: gives a live mount the credentials this shell has now,
 * without unmounting it, for keys that expire (session tokens) under a long job. The shell's
 * credentials are resolved here, as the AWS CLI would resolve them (environment, then this user's
 * profile files and SSO cache), and only the resulting keys travel to the daemon. With {@code
 * --profile}, the mount switches to a profile of the daemon's config files, which the SDK renews.
 */
@Command(mixinStandardHelpOptions = true, name = "credentials",
    description = "Give a live mount this shell's current AWS credentials (or a profile) without unmounting it.")
final class CredentialsCommand implements Callable<Integer> {

  @Mixin SocketOption socket;

  @Parameters(paramLabel = "MOUNTPOINT", description = "An s3cache mount point")
  String mountPoint;

  @Option(names = "--profile", paramLabel = "NAME",
      description = "Sign with this profile of the daemon's AWS config files from now on (renewed by the SDK)")
  String profile;

  @Override
  public Integer call() throws Exception {
    MountCredentials credentials = profile != null ? new MountCredentials(null, null, null, profile) : fromShell();
    try (ControlClient client = socket.connect()) {
      CredentialsResult r = client.credentials(new CredentialsRequest(CliPaths.absolute(mountPoint), credentials));
      System.err.println("s3cache: " + r.mountPoint() + " now signs with " + r.source());
      return 0;
    }
  }

  /** This shell's credentials, resolved by the SDK's default chain here (never the daemon's). */
  private static MountCredentials fromShell() {
    AwsCredentials c;
    try (DefaultCredentialsProvider chain = DefaultCredentialsProvider.builder().build()) {
      c = chain.resolveCredentials();
    } catch (RuntimeException e) {
      throw new ConfigException("no AWS credentials in this shell: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
          + "(and AWS_SESSION_TOKEN), or AWS_PROFILE, or use --profile NAME");
    }
    String token = c instanceof AwsSessionCredentials s ? s.sessionToken() : null;
    return new MountCredentials(c.accessKeyId(), c.secretAccessKey(), token, null);
  }
}
