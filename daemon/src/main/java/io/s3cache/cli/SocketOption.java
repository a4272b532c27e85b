package io.s3cache.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** --socket, shared by every command that talks to the daemon. */
final class SocketOption {

  static final String DEFAULT = "/run/s3cache/s3cache.sock";

  @Option(names = "--socket", paramLabel = "PATH",
      description = "The daemon's control socket (default: $S3CACHE_SOCKET, else " + DEFAULT + ")")
  Path socket;

  /** --socket, else control_socket when a config file or -o set it, else the environment or default. */
  Path path(io.s3cache.config.Settings settings) {
    if (socket == null && settings.explicit().containsKey(io.s3cache.config.SettingKey.CONTROL_SOCKET)) {
      return Path.of(settings.string(io.s3cache.config.SettingKey.CONTROL_SOCKET));
    }
    return path();
  }

  /** --socket, else control_socket of /etc/s3cache/s3cache.conf, else the environment or default. */
  Path path() {
    if (socket != null) {
      return socket;
    }
    if (java.nio.file.Files.isRegularFile(io.s3cache.config.Settings.DEFAULT_FILE)) {
      io.s3cache.config.Settings host = new io.s3cache.config.Settings();
      host.readFile(io.s3cache.config.Settings.DEFAULT_FILE);
      if (host.explicit().containsKey(io.s3cache.config.SettingKey.CONTROL_SOCKET)) {
        return Path.of(host.string(io.s3cache.config.SettingKey.CONTROL_SOCKET));
      }
    }
    String env = System.getenv("S3CACHE_SOCKET");
    return Path.of(env == null || env.isBlank() ? DEFAULT : env);
  }
}
