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
 * @param tcpAddress an additional TCP listener for the whole API, or null for none (the default).
 *     TCP carries no peer credentials, so it needs {@code tcpToken}: every request must present it.
 * @param tcpToken the bearer token TCP requests must carry (see {@link ControlToken}); required
 *     with {@code tcpAddress}
 * @param metricsAddress a read-only listener answering only {@code GET /metrics} and {@code GET
 *     /health}, for Prometheus; null for none
 */
public record ControlServerConfig(Path socketPath, InetSocketAddress tcpAddress, ControlToken tcpToken,
    InetSocketAddress metricsAddress) {

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
    if (tcpAddress != null && tcpToken == null) {
      throw new IllegalArgumentException("a TCP control listener needs a bearer token (control_token_file)");
    }
  }

  /** The socket, and a TCP listener only if {@code tcpAddress} is null (TCP needs a token). */
  public ControlServerConfig(Path socketPath, InetSocketAddress tcpAddress) {
    this(socketPath, tcpAddress, null, null);
  }

  /** The socket only, no TCP listener. */
  public static ControlServerConfig unixSocket(Path socketPath) {
    return new ControlServerConfig(socketPath, null, null, null);
  }
}
