package io.s3cache.cli;

import io.s3cache.config.ConfigException;
import io.s3cache.control.ControlClient;
import io.s3cache.control.ControlToken;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * --socket, or --control-url with --token-file, shared by every command that talks to the daemon.
 */
final class SocketOption {

  static final String DEFAULT = "/run/s3cache/s3cache.sock";

  @Option(names = "--socket", paramLabel = "PATH",
      description = "The daemon's control socket (default: $S3CACHE_SOCKET, else " + DEFAULT + ")")
  Path socket;

  @Option(names = "--control-url", paramLabel = "URL",
      description = "Use the daemon's TCP control listener (control_tcp), e.g. http://127.0.0.1:7070, "
          + "instead of its socket; needs --token-file")
  URI controlUrl;

  @Option(names = "--token-file", paramLabel = "FILE",
      description = "File holding the bearer token of --control-url (the daemon's control_token_file)")
  Path tokenFile;

  /** Whether the commands go to a TCP listener (no daemon is started for them). */
  boolean tcp() {
    return controlUrl != null;
  }

  /** A client of --control-url, else of {@code socketPath}. */
  ControlClient connect(Path socketPath) throws IOException {
    if (controlUrl == null) {
      return ControlClient.connect(socketPath);
    }
    if (tokenFile == null) {
      throw new ConfigException("--control-url needs --token-file FILE (the daemon's control_token_file)");
    }
    ControlToken token;
    try {
      token = ControlToken.of(Files.readString(tokenFile, StandardCharsets.US_ASCII));
    } catch (IOException e) {
      throw new ConfigException("cannot read the token file " + tokenFile + ": " + e.getMessage());
    }
    try {
      return ControlClient.connect(controlUrl, token, ControlClient.DEFAULT_REQUEST_TIMEOUT);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(e.getMessage());
    }
  }

  /** A client of --control-url, else of {@link #path()}. */
  ControlClient connect() throws IOException {
    return connect(controlUrl == null ? path() : null);
  }

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
