package io.s3cache.cli;

import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import io.s3cache.fuse.MountException;
import io.s3cache.fuse.MountTable;
import io.s3cache.mount.MountSpec;
import java.io.BufferedReader;
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
 * Starts the mount in a detached JVM (its own session, stdin closed, logs to a file) and waits for
 * it to report the mount live. On any failure the child is gone and nothing is mounted.
 */
final class DetachedMount {

  private final MountSpec spec;
  private final Path logFile;

  DetachedMount(MountSpec spec, Settings settings) {
    this.spec = spec;
    String configured = settings.string(SettingKey.LOG_FILE);
    this.logFile = configured.isEmpty() ? defaultLog(spec.mountPoint()) : Path.of(configured);
  }

  int start(List<String> childArgs) throws Exception {
    Files.createDirectories(logFile.toAbsolutePath().getParent());
    List<String> command = new ArrayList<>();
    command.add("setsid");
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(S3cacheCli.class.getName());
    command.addAll(childArgs);
    Process child = new ProcessBuilder(command)
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .redirectError(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
        .start();
    CompletableFuture<String> verdict = CompletableFuture.supplyAsync(() -> readVerdict(child));
    long waitMs = spec.mountTimeout().toMillis() + spec.s3().connectTimeout().toMillis() * spec.s3().maxAttempts()
        + 30_000;
    String line;
    try {
      line = verdict.get(waitMs, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      line = ERROR_TIMEOUT;
    }
    if (MountCommand.READY.equals(line)) {
      System.err.println("s3cache: mounted s3://" + spec.bucket() + "/" + spec.prefix() + " at "
          + spec.mountPoint() + " (pid " + child.pid() + ", log " + logFile + ")");
      return 0;
    }
    // Failed: make sure the child and any half-made mount are gone before reporting.
    child.destroy();
    if (!child.waitFor(10, TimeUnit.SECONDS)) {
      child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    if (MountTable.isMounted(spec.mountPoint())) {
      new ProcessBuilder("fusermount", "-uz", spec.mountPoint().toString()).start().waitFor(10, TimeUnit.SECONDS);
    }
    if (line != null && line.startsWith(MountCommand.ERROR)) {
      throw new MountException(line.substring(MountCommand.ERROR.length()));
    }
    if (line == ERROR_TIMEOUT) {
      throw new MountException("mount of " + spec.mountPoint() + " did not become ready; see " + logFile);
    }
    throw new MountException("mount process exited with status " + child.exitValue() + " before mounting; see "
        + lastLine(logFile));
  }

  private static final String ERROR_TIMEOUT = "timeout";

  /** /var/log/s3cache/mnt-data.log for /mnt/data (outside the cache dir, whose size is capped). */
  private static Path defaultLog(Path mountPoint) {
    String name = mountPoint.toString().substring(1).replace('/', '-');
    Path dir = Path.of("/var/log/s3cache");
    if (!Files.isWritable(dir.getParent()) && !Files.isWritable(dir)) {
      dir = Path.of(System.getProperty("java.io.tmpdir"), "s3cache-logs");
    }
    return dir.resolve((name.isEmpty() ? "root" : name) + ".log");
  }

  private static String readVerdict(Process child) {
    try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null) {
        if (line.equals(MountCommand.READY) || line.startsWith(MountCommand.ERROR)) {
          return line;
        }
      }
      return null;
    } catch (IOException e) {
      return null;
    }
  }

  private static String lastLine(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      for (int i = lines.size() - 1; i >= 0; i--) {
        if (!lines.get(i).isBlank()) {
          return log + ": " + lines.get(i).trim();
        }
      }
    } catch (IOException e) {
      // fall through
    }
    return log.toString();
  }
}
