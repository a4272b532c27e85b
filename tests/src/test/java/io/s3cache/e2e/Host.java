package io.s3cache.e2e;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs host commands (mount, umount, apt-get, systemd-analyze) as a test needs them. */
final class Host {

  record Result(int exit, String out, String err) {
    String errLine() {
      String[] lines = err.strip().split("\n");
      return lines[lines.length - 1];
    }

    @Override
    public String toString() {
      return "exit " + exit + "\nstdout: " + out + "\nstderr: " + err;
    }
  }

  private Host() {}

  /**
   * Test clean-up: stops the daemons answering on {@code sockets} (waiting up to 60 s each for the
   * process to exit), then lazily unmounts whatever of {@code mountPoints} is still mounted.
   */
  static void stopDaemons(Iterable<Path> sockets, Iterable<Path> mountPoints) throws Exception {
    try {
      for (Path sock : sockets) {
        if (io.s3cache.control.ControlClient.isAlive(sock)) {
          long pid;
          try (io.s3cache.control.ControlClient c = io.s3cache.control.ControlClient.connect(sock)) {
            pid = c.health().pid();
            c.shutdown();
          }
          ProcessHandle.of(pid).ifPresent(h -> h.onExit().orTimeout(60, TimeUnit.SECONDS).join());
        }
      }
    } finally {
      for (Path mp : mountPoints) {
        if (io.s3cache.fuse.MountTable.isMounted(mp)) {
          new ProcessBuilder("fusermount", "-uz", mp.toString()).start().waitFor();
        }
      }
    }
  }

  static boolean isRoot() {
    return new com.sun.security.auth.module.UnixSystem().getUid() == 0;
  }

  /** Whether {@code command} is on PATH. */
  static boolean has(String command) {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
      if (Files.isExecutable(Path.of(dir, command))) {
        return true;
      }
    }
    return false;
  }

  static Result run(Map<String, String> env, long timeoutSeconds, List<String> command) throws Exception {
    Path out = Files.createTempFile("host-out", ".txt");
    Path err = Files.createTempFile("host-err", ".txt");
    try {
      ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile())
          .redirectInput(new File("/dev/null"));
      pb.environment().putAll(env);
      Process p = pb.start();
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        throw new AssertionError(String.join(" ", command) + " did not finish within " + timeoutSeconds + " s: "
            + Files.readString(err, StandardCharsets.UTF_8));
      }
      return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  static Result run(String... command) throws Exception {
    return run(Map.of(), 120, List.of(command));
  }
}
