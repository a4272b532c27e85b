package io.s3cache.cli;

import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import io.s3cache.control.ControlClient;
import io.s3cache.fuse.MountException;
import io.s3cache.logging.LogSetup;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
   * @param settings the daemon-wide settings to start it with (cache, socket, log)
   */
  static void ensureRunning(Path socket, Settings settings) throws Exception {
    if (ControlClient.isAlive(socket)) {
      return;
    }
    Path log = LogSetup.file(settings);
    Files.createDirectories(log.getParent());
    // The daemon writes (and rotates) its log itself; its stderr (JVM messages, a crash) goes beside it.
    Path out = log.resolveSibling("s3cache.out");
    List<String> command = new ArrayList<>();
    command.add("setsid");
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
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
      if (e.getKey().daemonWide() && e.getKey() != SettingKey.CONTROL_SOCKET) {
        command.add("-o");
        command.add(e.getKey().key() + "=" + e.getValue());
      }
    }
    Process child = new ProcessBuilder(command)
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .redirectError(ProcessBuilder.Redirect.appendTo(out.toFile()))
        .start();
    CompletableFuture<String> verdict = CompletableFuture.supplyAsync(() -> readVerdict(child));
    String line;
    try {
      line = verdict.get(10, TimeUnit.MINUTES); // start-up scans the disk tier; a failed start answers at once
    } catch (java.util.concurrent.TimeoutException e) {
      line = null;
    }
    if (READY.equals(line)) {
      return;
    }
    child.destroy();
    if (!child.waitFor(10, TimeUnit.SECONDS)) {
      child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    if (ControlClient.isAlive(socket)) {
      return; // another mount started a daemon at the same moment, and ours lost the race: use it
    }
    if (line != null && line.startsWith(ERROR)) {
      throw new MountException(line.substring(ERROR.length()));
    }
    throw new MountException("the s3cache daemon did not start; see " + log);
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
