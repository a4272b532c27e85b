package io.s3cache.cli;

import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import io.s3cache.control.ControlClient;
import io.s3cache.control.ControlException;
import io.s3cache.files.PrivateFiles;
import io.s3cache.fuse.MountException;
import io.s3cache.logging.LogSetup;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Starts `s3cache daemon` detached (own session, stdin closed, output to its log) when none answers
 * on the socket, and waits for it to report its control socket live, or relays its one-line error.
 */
final class DaemonLauncher {

  static final String READY = "S3CACHE-READY";
  static final String ERROR = "S3CACHE-ERROR ";

  private DaemonLauncher() {}

  /**
   * Credentials of the calling shell that the daemon must not inherit: a mount forwards its own
   * (they belong to that mount); the daemon's default chain is its own (instance role, its
   * profile), never the shell that happened to start it. Prefixes end in '_'.
   */
  static final List<String> CREDENTIAL_VARIABLES = List.of("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
      "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN",
      "AWS_ROLE_SESSION_NAME", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
      "AWS_CONTAINER_", "AWS_CREDENTIAL_");
  /** The same as JVM system properties (-Daws.accessKeyId=... in S3CACHE_JAVA_OPTS). */
  private static final List<String> CREDENTIAL_PROPERTIES = List.of("-Daws.accessKeyId", "-Daws.secretAccessKey",
      "-Daws.sessionToken", "-Daws.profile", "-Daws.roleArn", "-Daws.webIdentityTokenFile",
      "-Daws.sharedCredentialsFile", "-Daws.configFile");

  /**
   * Starts a daemon unless one answers on {@code socket}.
   *
   * @param settings the daemon-wide settings to start it with (cache, socket, log)
   * @return the daemon this call started, or null when one was running already
   */
  static ProcessHandle ensureRunning(Path socket, Settings settings) throws Exception {
    if (ControlClient.isAlive(socket)) {
      return null;
    }
    Path log = LogSetup.file(settings);
    PrivateFiles.createDirectories(log.getParent());
    // The daemon writes (and rotates) its log itself; its stderr (JVM messages, a crash) goes beside it.
    Path out = log.resolveSibling("s3cache.out");
    try {
      PrivateFiles.createFile(out);
    } catch (IOException e) {
      throw new MountException("cannot write " + out + ": " + e.getMessage());
    }
    List<String> command = new ArrayList<>();
    command.add("setsid");
    command.add(ProcessHandle.current().info().command().orElse("java"));
    for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (CREDENTIAL_PROPERTIES.stream().noneMatch(p -> arg.startsWith(p + "="))) {
        command.add(arg);
      }
    }
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(S3cacheCli.class.getName());
    command.add("daemon");
    command.add("--notify-ready");
    command.add("--log-target");
    command.add("file");
    command.add("--socket");
    command.add(socket.toString());
    // Only the daemon-wide settings: a mount's own (endpoint, metadata_ttl, ...) travel with its
    // request, so they never become defaults for later mounts of other buckets.
    for (var e : settings.explicit().entrySet()) {
      if (e.getKey().daemonWide() && e.getKey() != SettingKey.CONTROL_SOCKET && e.getKey() != SettingKey.LOG_FILE) {
        command.add("-o");
        command.add(e.getKey().key() + "=" + e.getValue());
      }
    }
    // The daemon logs where we looked (a private directory's name is not known in advance).
    command.add("-o");
    command.add(SettingKey.LOG_FILE.key() + "=" + log);
    ProcessBuilder builder = new ProcessBuilder(command)
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .redirectError(ProcessBuilder.Redirect.appendTo(out.toFile()));
    builder.environment().keySet().removeIf(DaemonLauncher::isCredentialVariable);
    Process child = builder.start();
    CompletableFuture<String> verdict = CompletableFuture.supplyAsync(() -> readVerdict(child));
    String line;
    try {
      line = verdict.get(10, TimeUnit.MINUTES); // start-up scans the disk tier; a failed start answers at once
    } catch (java.util.concurrent.TimeoutException e) {
      line = null;
    }
    if (READY.equals(line)) {
      return daemonAt(socket, child.toHandle());
    }
    child.destroy();
    if (!child.waitFor(10, TimeUnit.SECONDS)) {
      child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    if (ControlClient.isAlive(socket)) {
      return null; // another mount started a daemon at the same moment, and ours lost the race: use it
    }
    if (line != null && line.startsWith(ERROR)) {
      throw new MountException(line.substring(ERROR.length()));
    }
    throw new MountException("the s3cache daemon did not start; see " + log);
  }

  static boolean isCredentialVariable(String name) {
    return CREDENTIAL_VARIABLES.stream().anyMatch(v -> v.endsWith("_") ? name.startsWith(v) : name.equals(v));
  }

  /** The daemon's own process (setsid may have forked), as it reports it; {@code fallback} if it cannot. */
  private static ProcessHandle daemonAt(Path socket, ProcessHandle fallback) {
    try (ControlClient client = ControlClient.connect(socket, Duration.ofSeconds(10))) {
      return ProcessHandle.of(client.health().pid()).orElse(fallback);
    } catch (IOException | ControlException e) {
      return fallback;
    }
  }

  /**
   * Stops a daemon that {@link #ensureRunning} started for a mount that then failed, so nothing is
   * left running with settings nobody chose, and waits until its process is gone. A daemon that
   * serves a mount by now (another {@code mount} raced in) is left running.
   */
  static void stopUnused(Path socket, ProcessHandle daemon) {
    if (daemon == null || !daemon.isAlive()) {
      return;
    }
    try (ControlClient client = ControlClient.connect(socket, Duration.ofSeconds(30))) {
      if (client.health().pid() != daemon.pid() || !client.mounts().isEmpty()) {
        return;
      }
      client.shutdown();
    } catch (IOException | ControlException e) {
      daemon.destroy(); // it does not answer: SIGTERM, which unmounts and exits too
    }
    try {
      daemon.onExit().get(60, TimeUnit.SECONDS);
    } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
      daemon.destroyForcibly();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static String readVerdict(Process child) {
    try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = out.readLine()) != null; ) {
        if (line.equals(READY) || line.startsWith(ERROR)) {
          return line;
        }
      }
      return null;
    } catch (IOException e) {
      return null;
    }
  }
}
