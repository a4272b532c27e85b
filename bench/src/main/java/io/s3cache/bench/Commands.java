package io.s3cache.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The benchmark's child commands (compilers, readers, fio, dd, fusermount), run to their end. */
final class Commands {

  private Commands() {}

  /** A finished command: its exit status and its stdout and stderr together. */
  record Ran(int status, String output) {}

  /** Runs {@code cmd} to its end; its stdout and stderr together. */
  static Ran run(List<String> cmd) throws IOException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      return new Ran(p.waitFor(), out);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted running " + cmd.get(0));
    }
  }

  /** Runs {@code cmd} and fails with its output unless it exits 0. */
  static void check(List<String> cmd) throws IOException {
    Ran ran = run(cmd);
    if (ran.status() != 0) {
      throw new IOException(String.join(" ", cmd) + " failed with status " + ran.status() + ": "
          + ran.output().strip());
    }
  }

  /** Runs {@code cmd}, returns its stdout; its stderr goes to the error message if it fails. */
  static String stdout(List<String> cmd, String what) throws IOException {
    Path err = Files.createTempFile("s3cache-bench", ".err");
    try {
      Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (p.waitFor() != 0) {
        throw new IOException(what + " failed with status " + p.exitValue() + ": " + Files.readString(err).strip());
      }
      return out;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted running " + what);
    } finally {
      Files.deleteIfExists(err);
    }
  }

  /** {@code fusermount -u} (or {@code -uz}, lazy) of {@code mnt}, waiting up to 30 s for it. */
  static void unmount(String fusermount, Path mnt, boolean lazy) throws IOException, InterruptedException {
    new ProcessBuilder(fusermount, lazy ? "-uz" : "-u", mnt.toString()).start().waitFor(30, TimeUnit.SECONDS);
  }
}
