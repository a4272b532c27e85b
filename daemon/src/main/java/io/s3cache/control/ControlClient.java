package io.s3cache.control;

import com.fasterxml.jackson.databind.JavaType;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * The CLI's side of the control API: one HTTP request per connection over the daemon's Unix
 * socket (or its TCP listener, with the bearer token), answers decoded into the API's records. A non-2xx answer throws {@link
 * ControlException} with the daemon's status and message; a daemon that cannot be reached, or does
 * not answer within the request timeout, throws {@link IOException}.
 *
 * <p>Owns one epoll event loop thread ({@code s3cache-control-client}, daemon); {@link #close}
 * stops it. Calls may come from several threads.
 */
public final class ControlClient implements AutoCloseable {

  /** How long a request may take; generous because a mount waits for the bucket and the kernel. */
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(120);

  static final int CONNECT_TIMEOUT_MILLIS = 5_000;
  private static final int MAX_RESPONSE_BYTES = 64 << 20;
  private static final Duration ALIVE_TIMEOUT = Duration.ofSeconds(1);

  private final SocketAddress address;
  private final Class<? extends Channel> channelType;
  private final String where;
  private final String authorization; // null over the Unix socket
  private final Duration requestTimeout;
  private final EventLoopGroup group =
      new EpollEventLoopGroup(1, new DefaultThreadFactory("s3cache-control-client", true));

  private ControlClient(SocketAddress address, Class<? extends Channel> channelType, String where,
      String authorization, Duration requestTimeout) {
    this.address = address;
    this.channelType = channelType;
    this.where = where;
    this.authorization = authorization;
    this.requestTimeout = requestTimeout;
  }

  /** Connects with {@link #DEFAULT_REQUEST_TIMEOUT}. */
  public static ControlClient connect(Path socketPath) throws IOException {
    return connect(socketPath, DEFAULT_REQUEST_TIMEOUT);
  }

  /**
   * Checks that a daemon listens on {@code socketPath} and returns a client for it.
   *
   * @throws IOException "no s3cache daemon answers on PATH" when nothing listens there
   */
  public static ControlClient connect(Path socketPath, Duration requestTimeout) throws IOException {
    return check(new ControlClient(new DomainSocketAddress(socketPath.toFile()), EpollDomainSocketChannel.class,
        socketPath.toString(), null, requestTimeout));
  }

  /**
   * A client of the daemon's TCP control listener ({@code control_tcp}), which needs the token.
   *
   * @param url http://HOST:PORT
   */
  public static ControlClient connect(URI url, ControlToken token, Duration requestTimeout) throws IOException {
    if (!"http".equalsIgnoreCase(url.getScheme()) || url.getHost() == null || url.getPort() < 0) {
      throw new IllegalArgumentException("invalid control URL '" + url + "': expected http://HOST:PORT");
    }
    return check(new ControlClient(new InetSocketAddress(url.getHost(), url.getPort()), EpollSocketChannel.class,
        url.toString(), token.authorization(), requestTimeout));
  }

  private static ControlClient check(ControlClient client) throws IOException {
    try {
      client.open(new ChannelInitializer<>() {
        @Override
        protected void initChannel(Channel ch) {}
      }).close();
      return client;
    } catch (IOException | RuntimeException e) {
      client.close();
      throw e;
    }
  }

  /** Whether a daemon answers GET /health on {@code socketPath} within about a second. */
  public static boolean isAlive(Path socketPath) {
    try (ControlClient client = connect(socketPath, ALIVE_TIMEOUT)) {
      client.health();
      return true;
    } catch (IOException | ControlException | RuntimeException e) {
      return false;
    }
  }

  /** Where this client sends its requests (a socket path or a URL), for messages. */
  public String where() {
    return where;
  }

  public Health health() throws IOException, ControlException {
    return call(HttpMethod.GET, "/health", null, Health.class);
  }

  public List<MountInfo> mounts() throws IOException, ControlException {
    JavaType type = ControlJson.MAPPER.getTypeFactory().constructCollectionType(List.class, MountInfo.class);
    return ControlJson.readResponse(exchange(HttpMethod.GET, "/mounts", null), type);
  }

  public MountInfo mount(MountRequest request) throws IOException, ControlException {
    return call(HttpMethod.POST, "/mounts", request, MountInfo.class);
  }

  public void unmount(String mountPoint) throws IOException, ControlException {
    exchange(HttpMethod.DELETE, "/mounts?path=" + encode(mountPoint), null);
  }

  /** @param mountPoint null for the whole daemon */
  public StatsSnapshot stats(String mountPoint) throws IOException, ControlException {
    return call(HttpMethod.GET, mountPoint == null ? "/stats" : "/stats?mount=" + encode(mountPoint), null, StatsSnapshot.class);
  }

  /** POST /plan: installs an epoch plan; answers once its first window is asked for. */
  public PlanStatus plan(PlanRequest request) throws IOException, ControlException {
    return call(HttpMethod.POST, "/plan", request, PlanStatus.class);
  }

  /** GET /plan?mount=: the mount's plans (all mounts' when null). */
  public PlanList plans(String mountPoint) throws IOException, ControlException {
    return call(HttpMethod.GET, mountPoint == null ? "/plan" : "/plan?mount=" + encode(mountPoint), null,
        PlanList.class);
  }

  /** GET /plan?id=: one plan's figures. */
  public PlanStatus planStatus(String id) throws IOException, ControlException {
    return call(HttpMethod.GET, "/plan?id=" + encode(id), null, PlanStatus.class);
  }

  /** DELETE /plan?id=: ends one plan and returns its final figures. */
  public PlanStatus endPlan(String id) throws IOException, ControlException {
    return call(HttpMethod.DELETE, "/plan?id=" + encode(id), null, PlanStatus.class);
  }

  /** DELETE /plan?mount=: ends the mount's plans (of lane {@code name} only, unless null). */
  public PlanList endPlans(String mountPoint, String name) throws IOException, ControlException {
    return call(HttpMethod.DELETE, "/plan?mount=" + encode(mountPoint) + (name == null ? "" : "&name=" + encode(name)),
        null, PlanList.class);
  }

  public EvictResult evict(EvictRequest request) throws IOException, ControlException {
    return call(HttpMethod.POST, "/evict", request, EvictResult.class);
  }

  public RefreshResult refresh(RefreshRequest request) throws IOException, ControlException {
    return call(HttpMethod.POST, "/refresh", request, RefreshResult.class);
  }

  /** POST /credentials: the mount signs with these credentials from now on. */
  public CredentialsResult credentials(CredentialsRequest request) throws IOException, ControlException {
    return call(HttpMethod.POST, "/credentials", request, CredentialsResult.class);
  }

  /** GET /metrics: Prometheus text exposition format 0.0.4. */
  public String metricsText() throws IOException, ControlException {
    return ControlJson.utf8(exchange(HttpMethod.GET, "/metrics", null));
  }

  /** Asks the daemon to unmount everything and exit; returns once it has acknowledged. */
  public void shutdown() throws IOException, ControlException {
    exchange(HttpMethod.POST, "/shutdown", null);
  }

  /**
   * Runs a preload, handing each progress report to {@code onProgress} on the calling thread as it
   * arrives, and returns the final one. No timeout: a preload runs as long as it needs. Interrupting
   * the calling thread, or {@code onProgress} throwing, closes the connection, which stops the
   * preload in the daemon (blocks fetched so far stay cached).
   */
  public PreloadProgress preload(PreloadRequest request, Consumer<PreloadProgress> onProgress)
      throws IOException, ControlException {
    BlockingQueue<Object> events = new LinkedBlockingQueue<>();
    Channel channel = open(initializer(new NdjsonStreamHandler(events)));
    try {
      channel.writeAndFlush(httpRequest(HttpMethod.POST, "/preload", request))
          .addListener(f -> {
            if (!f.isSuccess()) {
              events.add(f.cause());
            }
          });
      PreloadProgress last = null;
      while (true) {
        Object event = events.take();
        if (event instanceof String line) {
          last = ControlJson.readResponse(line.getBytes(StandardCharsets.UTF_8), PreloadProgress.class);
          onProgress.accept(last);
        } else if (event == NdjsonStreamHandler.END) {
          if (last == null) {
            throw new IOException("the s3cache daemon ended the preload without a progress report");
          }
          return last;
        } else if (event instanceof NdjsonStreamHandler.ErrorResponse error) {
          throw controlException(error.status(), error.body());
        } else {
          Throwable cause = (Throwable) event;
          throw new IOException("preload connection to the s3cache daemon failed: " + cause.getMessage(), cause);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("preload interrupted; the daemon stops it");
    } finally {
      channel.close();
    }
  }

  private <T> T call(HttpMethod method, String uri, Object body, Class<T> type) throws IOException, ControlException {
    return ControlJson.readResponse(exchange(method, uri, body), type);
  }

  /** One request, one connection; returns the body of a 2xx answer. */
  private byte[] exchange(HttpMethod method, String uri, Object body) throws IOException, ControlException {
    CompletableFuture<Answer> answer = new CompletableFuture<>();
    Channel channel = open(initializer(new HttpObjectAggregator(MAX_RESPONSE_BYTES), new SimpleChannelInboundHandler<FullHttpResponse>() {
      @Override
      protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse response) {
        answer.complete(new Answer(response.status().code(), ByteBufUtil.getBytes(response.content())));
      }

      @Override
      public void channelInactive(ChannelHandlerContext ctx) {
        answer.completeExceptionally(new IOException("the s3cache daemon closed the connection without answering"));
      }

      @Override
      public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        answer.completeExceptionally(cause);
        ctx.close();
      }
    }));
    try {
      channel.writeAndFlush(httpRequest(method, uri, body)).addListener(f -> {
        if (!f.isSuccess()) {
          answer.completeExceptionally(f.cause());
        }
      });
      Answer response = answer.get(requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
      if (response.status() / 100 != 2) {
        throw controlException(response.status(), response.body());
      }
      return response.body();
    } catch (TimeoutException e) {
      throw new IOException("the s3cache daemon did not answer " + method + " " + uri + " within "
          + requestTimeout.toSeconds() + " s");
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      throw cause instanceof IOException io ? io : new IOException("control request failed: " + cause, cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException(method + " " + uri + " interrupted");
    } finally {
      channel.close();
    }
  }

  private record Answer(int status, byte[] body) {}

  private static ControlException controlException(int status, byte[] body) {
    String message = ControlJson.errorMessage(body);
    if (message == null) {
      String text = ControlJson.utf8(body).strip();
      message = "HTTP " + status + (text.isEmpty() ? "" : ": " + ControlJson.firstLine(text));
    }
    return new ControlException(status, message);
  }

  private FullHttpRequest httpRequest(HttpMethod method, String uri, Object body) {
    byte[] bytes = body == null ? new byte[0] : ControlJson.write(body);
    FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, method, uri, Unpooled.wrappedBuffer(bytes));
    request.headers()
        .set(HttpHeaderNames.HOST, "localhost")
        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE)
        .setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
    if (body != null || method != HttpMethod.GET) {
      request.headers().set(HttpHeaderNames.CONTENT_TYPE, ControlRoutes.JSON);
    }
    if (authorization != null) {
      request.headers().set(HttpHeaderNames.AUTHORIZATION, authorization);
    }
    return request;
  }

  private static ChannelInitializer<Channel> initializer(ChannelHandler... handlers) {
    return new ChannelInitializer<>() {
      @Override
      protected void initChannel(Channel ch) {
        ch.pipeline().addLast(new HttpClientCodec()).addLast(handlers);
      }
    };
  }

  private Channel open(ChannelInitializer<Channel> initializer) throws IOException {
    ChannelFuture connected = new Bootstrap()
        .group(group)
        .channel(channelType)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, CONNECT_TIMEOUT_MILLIS)
        .handler(initializer)
        .connect(address);
    if (!connected.awaitUninterruptibly(CONNECT_TIMEOUT_MILLIS + 1_000L)) {
      connected.cancel(false);
      throw new IOException("no s3cache daemon answers on " + where + " (connect timed out)");
    }
    if (!connected.isSuccess()) {
      Throwable cause = connected.cause();
      String why = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
      throw new IOException("no s3cache daemon answers on " + where + " (" + why + ")", cause);
    }
    return connected.channel();
  }

  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
  }
}
