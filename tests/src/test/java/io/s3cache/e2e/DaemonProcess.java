package io.s3cache.e2e;

import io.s3cache.control.ControlClient;
import io.s3cache.control.MountRequest;
import io.s3cache.embedded.EmbeddedS3Server;
import io.s3cache.fuse.MountTable;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code bin/s3cache daemon} as a child process of the test, on its own socket and cache dir, with
 * the embedded server's credentials. Closing it shuts the daemon down (killing it if it does not
 * stop) and lazily unmounts whatever of its mounts is still there.
 */
final class DaemonProcess implements AutoCloseable {

  private static final Path S3CACHE = Path.of("..", "bin", "s3cache").toAbsolutePath().normalize();

  final Path socket;
  final Path log;
  private final Process process;
  private final List<Path> mountPoints = new ArrayList<>();

  private DaemonProcess(Path socket, Path log, Process process) {
    this.socket = socket;
    this.log = log;
    this.process = process;
  }

  /** Starts a daemon with these daemon-wide settings ({@code -o key=value}) and waits until it answers. */
  static DaemonProcess start(Path dir, EmbeddedS3Server server, Map<String, String> settings, String javaOpts)
      throws Exception {
    Path socket = dir.resolve("d.sock");
    Path log = dir.resolve("daemon.log");
    List<String> cmd = new ArrayList<>(List.of(S3CACHE.toString(), "daemon", "--socket", socket.toString()));
    settings.forEach((k, v) -> cmd.addAll(List.of("-o", k + "=" + v)));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
        .redirectInput(new File("/dev/null"));
    pb.environment().put("AWS_ACCESS_KEY_ID", server.accessKey());
    pb.environment().put("AWS_SECRET_ACCESS_KEY", server.secretKey());
    pb.environment().put("AWS_EC2_METADATA_DISABLED", "true");
    pb.environment().put("S3CACHE_JAVA_OPTS", javaOpts);
    DaemonProcess d = new DaemonProcess(socket, log, pb.start());
    try {
      // The daemon's JVM starts in a few seconds; this waits for a process, not for a result.
      for (long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60); !ControlClient.isAlive(socket); ) {
        if (!d.process.isAlive() || System.nanoTime() > end) {
          throw new IllegalStateException("daemon did not start: " + Files.readString(log));
        }
        Thread.sleep(200);
      }
    } catch (Exception e) {
      d.close();
      throw e;
    }
    return d;
  }

  long pid() {
    return process.pid();
  }

  Path mount(String source, Path mountPoint, Map<String, String> settings) throws Exception {
    return mount(source, mountPoint, settings, List.of());
  }

  /** Mounts with these mount options too (e.g. {@code rw}). */
  Path mount(String source, Path mountPoint, Map<String, String> settings, List<String> options) throws Exception {
    Files.createDirectories(mountPoint);
    mountPoints.add(mountPoint);
    try (ControlClient c = ControlClient.connect(socket)) {
      c.mount(new MountRequest(source, mountPoint.toString(), settings, options));
    }
    return mountPoint;
  }

  /** SIGKILL, as a crash or the OOM killer would; its mounts are left dead ("transport endpoint"). */
  void kill() throws InterruptedException {
    process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
  }

  /** A line of /proc/PID/status, in KiB (VmRSS, VmHWM, ...). */
  long statusKib(String field) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid()), "status"))) {
      if (line.startsWith(field + ":")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    throw new IOException("no " + field + " in /proc/" + pid() + "/status");
  }

  @Override
  public void close() throws Exception {
    try {
      if (process.isAlive() && ControlClient.isAlive(socket)) {
        try (ControlClient c = ControlClient.connect(socket)) {
          c.shutdown();
        } catch (Exception e) {
          // killed below
        }
      }
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } finally {
      for (Path mp : mountPoints) {
        if (MountTable.isMounted(mp)) {
          new ProcessBuilder("fusermount", "-uz", mp.toString()).start().waitFor();
        }
      }
    }
  }
}
