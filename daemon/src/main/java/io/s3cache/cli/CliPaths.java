package io.s3cache.cli;

import java.nio.file.Path;

/** Paths given on the command line, made absolute before they go to the daemon (its cwd differs). */
final class CliPaths {
  private CliPaths() {}

  static String absolute(String path) {
    return path.startsWith("s3://") ? path : Path.of(path).toAbsolutePath().normalize().toString();
  }
}
