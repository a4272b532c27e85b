package io.s3cache.control;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Where the control server listens.
 *
 * @param socketPath the Unix domain socket (e.g. {@code /run/s3cache/s3cache.sock}); its parent
 *     directory is created (mode 0700) when missing
 * @param tcpAddress an additional TCP listener, or null for none (the default). TCP has no peer
 *     check: anyone who can reach the address can drive the daemon, so keep it on loopback.
 */
public record ControlServerConfig(Path socketPath, InetSocketAddress tcpAddress) {

  public static final Path DEFAULT_SOCKET = Path.of("/run/s3cache/s3cache.sock");

  /** Linux's sun_path holds 108 bytes including the terminating NUL. */
  private static final int MAX_SOCKET_PATH_BYTES = 107;

  public ControlServerConfig {
    Objects.requireNonNull(socketPath, "socketPath");
    socketPath = socketPath.toAbsolutePath().normalize();
    if (socketPath.toString().getBytes(StandardCharsets.UTF_8).length > MAX_SOCKET_PATH_BYTES) {
      throw new IllegalArgumentException(
          "control socket path is longer than " + MAX_SOCKET_PATH_BYTES + " bytes: " + socketPath);
    }
  }

  /** The socket only, no TCP listener. */
  public static ControlServerConfig unixSocket(Path socketPath) {
    return new ControlServerConfig(socketPath, null);
  }
}
