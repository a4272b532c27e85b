package io.s3cache.bench;

import io.s3cache.control.ControlClient;
import io.s3cache.embedded.EmbeddedS3Server;
import io.s3cache.fuse.MountTable;
import io.s3cache.s3.RequestCounts;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An s3cache daemon started the way a user starts one: {@code bin/s3cache mount} (which starts the
 * daemon in the background) with a control socket and cache dir of its own; its PID comes from the
 * control API's health answer, for its CPU time and RSS. {@link #close()} runs {@code bin/s3cache
 * shutdown}, waits for the process to go, and forces the unmount and the kill only if it lingers.
 */
final class DaemonProcess implements AutoCloseable {

  /** How a benchmark mount is set up: the tiers, metadata_ttl, JVM options; null: the default. */
  record Config(String ramCache, String diskCache, String metadataTtl, String javaOpts) {}

  private final Path cli;
  private final Path socket;
  private final Path mountPoint;
  private final long pid;

  private DaemonProcess(Path cli, Path socket, Path mountPoint, long pid) {
    this.cli = cli;
    this.socket = socket;
    this.mountPoint = mountPoint;
    this.pid = pid;
  }

  /**
   * Mounts {@code s3://bucket} from {@code endpoint} at {@code dir/mnt}, its cache in {@code
   * dir/cache} (kept if it exists: a restart finds its disk tier), its socket {@code dir/s3cache.sock}.
   */
  static DaemonProcess mount(URI endpoint, String bucket, Path dir, Config config) throws Exception {
    Path cli = cliPath();
    Path mnt = Files.createDirectories(dir.resolve("mnt"));
    Path socket = dir.resolve("s3cache.sock");
    List<String> cmd = new ArrayList<>(List.of(cli.toString(), "mount", "s3://" + bucket, mnt.toString(),
        "--endpoint", endpoint.toString(), "--path-style", "--socket", socket.toString(),
        "--cache-dir", dir.resolve("cache").toString()));
    if (config.ramCache() != null) {
      cmd.addAll(List.of("--ram-cache", config.ramCache()));
    }
    if (config.diskCache() != null) {
      cmd.addAll(List.of("--disk-cache", config.diskCache()));
    }
    if (config.metadataTtl() != null) {
      cmd.add("--metadata-ttl");
      cmd.add(config.metadataTtl());
    }
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(dir.resolve("mount.out").toFile());
    pb.environment().put("AWS_ACCESS_KEY_ID", EmbeddedS3Server.ACCESS_KEY);
    pb.environment().put("AWS_SECRET_ACCESS_KEY", EmbeddedS3Server.SECRET_KEY);
    pb.environment().remove("AWS_PROFILE");
    pb.environment().remove("S3CACHE_SOCKET");
    if (config.javaOpts() != null) {
      pb.environment().put("S3CACHE_JAVA_OPTS", config.javaOpts());
    } else {
      pb.environment().remove("S3CACHE_JAVA_OPTS");
    }
    Process p = pb.start();
    boolean done = p.waitFor(5, TimeUnit.MINUTES);
    long pid = -1;
    try (ControlClient c = ControlClient.connect(socket)) {
      pid = c.health().pid();
    } catch (IOException | RuntimeException | io.s3cache.control.ControlException e) {
      // no daemon answered: reported below
    }
    DaemonProcess d = new DaemonProcess(cli, socket, mnt, pid);
    if (!done || p.exitValue() != 0 || pid <= 0 || !MountTable.isMounted(mnt)) {
      p.destroyForcibly();
      IOException failed =
          new IOException("s3cache mount failed: " + Files.readString(dir.resolve("mount.out")).strip());
      try {
        d.close();
      } catch (Exception e) {
        failed.addSuppressed(e);
      }
      throw failed;
    }
    return d;
  }

  /** bin/s3cache of the checkout this benchmark runs from (bench/target/X.jar: three levels up). */
  static Path cliPath() throws IOException {
    try {
      Path jar = Path.of(DaemonProcess.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      for (Path dir = jar.getParent(); dir != null; dir = dir.getParent()) {
        Path cli = dir.resolve("bin/s3cache");
        if (Files.isExecutable(cli)) {
          return cli;
        }
      }
    } catch (java.net.URISyntaxException e) {
      throw new IOException(e);
    }
    throw new IOException("bin/s3cache not found above " + DaemonProcess.class.getProtectionDomain().getCodeSource());
  }

  Path mountPoint() {
    return mountPoint;
  }

  long pid() {
    return pid;
  }

  Path socket() {
    return socket;
  }

  /** S3 requests by kind the daemon has made since it started (GET /stats). */
  RequestCounts requests() throws Exception {
    try (ControlClient c = ControlClient.connect(socket)) {
      return c.stats(null).requests();
    }
  }

  double cpuSeconds() {
    return CpuTime.seconds(pid);
  }

  @Override
  public void close() throws Exception {
    if (pid > 0 || Files.exists(socket)) { // a daemon that came up after a failed mount too
      Process shutdown = new ProcessBuilder(cli.toString(), "shutdown", "--socket", socket.toString())
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      if (!shutdown.waitFor(2, TimeUnit.MINUTES)) {
        shutdown.destroyForcibly();
      }
    }
    Optional<ProcessHandle> h = pid > 0 ? ProcessHandle.of(pid) : Optional.empty();
    if (h.isPresent()) {
      try {
        h.get().onExit().get(60, TimeUnit.SECONDS); // let it exit (a JFR recording is written then)
      } catch (TimeoutException e) {
        h.get().destroyForcibly();
        h.get().onExit().get(30, TimeUnit.SECONDS);
      }
    }
    if (MountTable.isMounted(mountPoint)) {
      new ProcessBuilder("fusermount", "-uz", mountPoint.toString()).start().waitFor(30, TimeUnit.SECONDS);
      throw new IllegalStateException(mountPoint + " was still mounted after the daemon exited");
    }
  }
}
