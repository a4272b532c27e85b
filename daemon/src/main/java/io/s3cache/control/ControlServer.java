package io.s3cache.control;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.PeerCredentials;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's control endpoint: HTTP/1.1 + JSON over a Unix domain socket (see
 * docs/CONTROL-API.md), optionally also on TCP (bearer token required, see {@link ControlAccess})
 * and on a read-only TCP metrics listener.
 *
 * <p>Access control on the socket is twofold: the file is chmod 0600 right after bind, and every
 * accepted connection's peer uid (SO_PEERCRED) must equal the daemon's effective uid, otherwise it
 * is answered 403 and closed. The second check also covers the moment between bind and chmod, and
 * root, whom file modes do not stop.
 *
 * <p>Threads: one epoll event loop group ({@code s3cache-control-io-N}, 2 threads) does all socket
 * I/O; {@link ControlWorkers} runs the blocking API calls. {@link #close} stops both.
 */
public final class ControlServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ControlServer.class);
  private static final int IO_THREADS = 2;
  private static final int WORKER_THREADS = 4;
  private static final int QUEUED_REQUESTS = 64;
  private static final Duration CLOSE_WAIT = Duration.ofSeconds(10);

  private final Path socketPath;
  private final EventLoopGroup group;
  private final ControlWorkers workers;
  private final ChannelGroup channels;
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile Object socketFileKey;
  private volatile InetSocketAddress tcpAddress;
  private volatile InetSocketAddress metricsAddress;

  private ControlServer(Path socketPath) {
    this.socketPath = socketPath;
    this.group = new EpollEventLoopGroup(IO_THREADS, new DefaultThreadFactory("s3cache-control-io", false));
    this.workers = new ControlWorkers(WORKER_THREADS, QUEUED_REQUESTS);
    this.channels = new DefaultChannelGroup("s3cache-control", group.next());
  }

  /**
   * Listens on the configured socket (and TCP address, if any) and serves {@code api}.
   *
   * @throws IOException when another daemon already answers on the socket, or it cannot be bound
   */
  public static ControlServer start(ControlApi api, ControlServerConfig config) throws IOException {
    Objects.requireNonNull(api, "api");
    if (!Epoll.isAvailable()) {
      throw new IOException("the control server needs Linux epoll: " + Epoll.unavailabilityCause());
    }
    Path socket = config.socketPath();
    prepareSocketPath(socket);
    ControlServer server = new ControlServer(socket);
    try {
      server.listen(api, config);
      return server;
    } catch (IOException | RuntimeException e) {
      server.close();
      throw e;
    }
  }

  public Path socketPath() {
    return socketPath;
  }

  /** The bound TCP address (with the real port when 0 was asked for), or null without TCP. */
  public InetSocketAddress tcpAddress() {
    return tcpAddress;
  }

  /** The bound metrics listener (with the real port when 0 was asked for), or null without one. */
  public InetSocketAddress metricsAddress() {
    return metricsAddress;
  }

  private void listen(ControlApi api, ControlServerConfig config) throws IOException {
    ControlRoutes routes = new ControlRoutes(api);
    int ownUid = effectiveUid();
    Channel uds = bind(new ServerBootstrap().channel(EpollServerDomainSocketChannel.class)
        .childHandler(unixInitializer(api, routes, ownUid)), new DomainSocketAddress(socketPath.toFile()), socketPath.toString());
    Files.setPosixFilePermissions(socketPath, PosixFilePermissions.fromString("rw-------"));
    socketFileKey = fileKey(socketPath);
    log.info("control API listening on {}", socketPath);
    if (config.tcpAddress() != null) {
      InetSocketAddress asked = config.tcpAddress();
      if (asked.getAddress() == null || !asked.getAddress().isLoopbackAddress()) {
        log.warn("control API also listens on {}, which is not a loopback address: anyone who can reach it "
            + "and holds the token can mount, evict and stop this daemon", asked);
      }
      tcpAddress = bindTcp(asked, initializer(api, routes, ControlAccess.tcp(config.tcpToken())));
      log.info("control API listening on tcp {} (bearer token required)", tcpAddress);
    }
    if (config.metricsAddress() != null) {
      metricsAddress = bindTcp(config.metricsAddress(), initializer(api, routes, ControlAccess.metrics()));
      log.info("metrics listening on tcp {} (GET /metrics and /health only)", metricsAddress);
    }
  }

  private InetSocketAddress bindTcp(InetSocketAddress address, ChannelInitializer<Channel> initializer)
      throws IOException {
    Channel bound = bind(new ServerBootstrap().channel(EpollServerSocketChannel.class).childHandler(initializer),
        address, address.toString());
    return (InetSocketAddress) bound.localAddress();
  }

  private Channel bind(ServerBootstrap bootstrap, SocketAddress address, String where) throws IOException {
    ChannelFuture bound = bootstrap.group(group).bind(address).awaitUninterruptibly();
    if (!bound.isSuccess()) {
      throw new IOException("control API cannot listen on " + where + ": " + bound.cause().getMessage(), bound.cause());
    }
    channels.add(bound.channel());
    return bound.channel();
  }

  /** Unix socket connections: the peer's uid must be ours (then it is the caller's uid). */
  private ChannelInitializer<Channel> unixInitializer(ControlApi api, ControlRoutes routes, int ownUid) {
    return new ChannelInitializer<>() {
      @Override
      protected void initChannel(Channel ch) {
        channels.add(ch);
        EpollDomainSocketChannel unix = (EpollDomainSocketChannel) ch;
        String refusal = checkPeer(unix, ownUid);
        ch.pipeline()
            .addLast(new HttpServerCodec())
            .addLast(new ControlHttpHandler.LimitedAggregator())
            .addLast(refusal == null ? new ControlHttpHandler(api, routes, workers, ControlAccess.unix(ownUid, peerPid(unix)))
                : new ControlHttpHandler.Refused(refusal));
      }
    };
  }

  /** TCP connections (control or metrics): what each request may do is {@code access}'s to say. */
  private ChannelInitializer<Channel> initializer(ControlApi api, ControlRoutes routes, ControlAccess access) {
    return new ChannelInitializer<>() {
      @Override
      protected void initChannel(Channel ch) {
        channels.add(ch);
        ch.pipeline()
            .addLast(new HttpServerCodec())
            .addLast(new ControlHttpHandler.LimitedAggregator())
            .addLast(new ControlHttpHandler(api, routes, workers, access));
      }
    };
  }

  /** The peer's pid (SO_PEERCRED), 0 when it cannot be read. */
  private static int peerPid(EpollDomainSocketChannel channel) {
    try {
      return channel.peerCredentials().pid();
    } catch (IOException e) {
      return 0;
    }
  }

  /** Null when the peer may talk to us, else the reason it may not. */
  private static String checkPeer(EpollDomainSocketChannel channel, int ownUid) {
    try {
      PeerCredentials peer = channel.peerCredentials();
      if (peer.uid() == ownUid) {
        return null;
      }
      log.warn("refused a control connection from uid {} (pid {}): only uid {} may use {}",
          peer.uid(), peer.pid(), ownUid, channel.localAddress());
      return "permission denied: uid " + peer.uid() + " may not control this s3cache daemon (it runs as uid " + ownUid + ")";
    } catch (IOException e) {
      log.warn("refused a control connection whose peer credentials cannot be read", e);
      return "permission denied: cannot read peer credentials";
    }
  }

  /**
   * Makes the socket path bindable: creates the parent directory (0700) when missing; refuses when
   * something live answers there; removes what a dead process left behind (a socket nobody listens
   * on, or a plain file).
   */
  private static void prepareSocketPath(Path socket) throws IOException {
    Path parent = socket.getParent();
    if (!Files.isDirectory(parent)) {
      try {
        Files.createDirectories(parent, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      } catch (java.nio.file.AccessDeniedException e) {
        // A non-root user with the default /run/s3cache: one line that says what to do.
        throw new IOException("cannot create the control socket directory " + parent + ": permission denied; "
            + "run as root, or give --socket (control_socket) a path in a directory you own", e);
      }
    }
    BasicFileAttributes attributes;
    try {
      attributes = Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return;
    }
    if (attributes.isDirectory()) {
      throw new IOException("control socket path " + socket + " is a directory");
    }
    if (attributes.isOther() && answers(socket)) {
      throw new IOException("another s3cache daemon already answers on " + socket
          + "; stop it first (s3cache shutdown) or give this one another control socket");
    }
    log.info("removing stale control socket {} left by a process that is gone", socket);
    Files.deleteIfExists(socket);
  }

  private static boolean answers(Path socket) throws IOException {
    try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      probe.connect(UnixDomainSocketAddress.of(socket));
      return true;
    } catch (ConnectException e) {
      return false; // ECONNREFUSED: a socket file with no listener
    } catch (IOException e) {
      throw new IOException("cannot tell whether a daemon answers on " + socket + ": " + e.getMessage(), e);
    }
  }

  /** The effective uid, as SO_PEERCRED reports peers: the second field of "Uid:" in /proc/self/status. */
  static int effectiveUid() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("Uid:")) {
        return Integer.parseInt(line.substring(4).trim().split("\\s+")[1]);
      }
    }
    throw new IOException("no Uid line in /proc/self/status");
  }

  private static Object fileKey(Path path) {
    try {
      return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
    } catch (IOException e) {
      return null;
    }
  }

  /**
   * Stops listening, closes open connections (running preloads see themselves cancelled), waits for
   * the worker threads and the event loops to finish, and removes the socket file. Safe to call
   * from {@link ControlApi#shutdown()}, which runs on its own thread; must not be called from an
   * event loop thread.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    channels.close().awaitUninterruptibly();
    workers.close(CLOSE_WAIT);
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
    // Netty unlinks the socket on close; make sure, but never remove a socket another daemon made.
    Object key = fileKey(socketPath);
    if (key != null && key.equals(socketFileKey)) {
      try {
        Files.deleteIfExists(socketPath);
      } catch (IOException e) {
        log.warn("cannot remove control socket {}: {}", socketPath, e.getMessage());
      }
    }
    log.info("control API on {} closed", socketPath);
  }
}
