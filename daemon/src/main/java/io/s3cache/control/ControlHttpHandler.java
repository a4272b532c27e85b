package io.s3cache.control;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.s3cache.control.ControlRoutes.Outcome;
import io.s3cache.control.ControlRoutes.PreloadCall;
import io.s3cache.control.ControlRoutes.Reply;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes one aggregated request per connection off the event loop: the request is copied out and
 * handed to a {@link ControlWorkers} thread, which routes it and writes the reply. Every response
 * carries {@code Connection: close}; clients open a connection per request (cheap on a Unix
 * socket), which keeps the order of replies trivially right.
 */
final class ControlHttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

  private static final Logger log = LoggerFactory.getLogger(ControlHttpHandler.class);
  static final int MAX_BODY_BYTES = 1 << 20;
  /**
   * Bodies that list paths (an epoch plan, a preload or an evict): a plan of a large data set's
   * files (100,000s of paths) runs to megabytes.
   */
  static final int MAX_PATH_LIST_BYTES = 128 << 20;

  private final ControlApi api;
  private final ControlRoutes routes;
  private final ControlWorkers workers;
  private final ControlAccess access;
  private boolean seen; // event loop only

  ControlHttpHandler(ControlApi api, ControlRoutes routes, ControlWorkers workers, ControlAccess access) {
    this.api = api;
    this.routes = routes;
    this.workers = workers;
    this.access = access;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
    if (seen) {
      return; // one request per connection; the first reply closes it
    }
    seen = true;
    Channel channel = ctx.channel();
    if (request.decoderResult().isFailure()) {
      write(channel, Reply.error(400, "bad HTTP request: " + request.decoderResult().cause().getMessage()));
      return;
    }
    Reply refused = access.refusal(request);
    if (refused != null) {
      write(channel, refused);
      return;
    }
    String method = request.method().name();
    String uri = request.uri();
    int limit = bodyLimit(request);
    if (request.content().readableBytes() > limit) { // a chunked body: no Content-Length to check first
      write(channel, Reply.error(413, "request body is larger than " + limit + " bytes"));
      return;
    }
    byte[] body = ByteBufUtil.getBytes(request.content());
    try {
      workers.execute(() -> serve(channel, method, uri, body));
    } catch (RejectedExecutionException e) {
      write(channel, Reply.error(503, "control server is busy or shutting down; try again"));
    }
  }

  private void serve(Channel channel, String method, String uri, byte[] body) {
    Outcome outcome;
    try {
      outcome = routes.route(method, uri, body, access);
    } catch (ControlException e) {
      outcome = Reply.error(e.status(), e.getMessage());
    } catch (RuntimeException | Error e) {
      log.error("control request {} {} failed", method, uri, e);
      outcome = Reply.error(500, "internal error: " + e);
    }
    if (outcome instanceof PreloadCall call) {
      try {
        workers.startPreload(new PreloadStream(api, call.request(), channel));
      } catch (RejectedExecutionException e) {
        write(channel, Reply.error(503, "control server is shutting down"));
      }
    } else {
      write(channel, (Reply) outcome);
    }
  }

  /** Writes a complete response and closes the connection; runs {@code afterSent} once flushed. */
  static void write(Channel channel, Reply reply) {
    FullHttpResponse response =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(reply.status()), Unpooled.wrappedBuffer(reply.body()));
    response.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, reply.contentType())
        .setInt(HttpHeaderNames.CONTENT_LENGTH, reply.body().length)
        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    reply.headers().forEach(response.headers()::set);
    ChannelFuture sent = channel.writeAndFlush(response);
    sent.addListener(ChannelFutureListener.CLOSE);
    if (reply.afterSent() != null) {
      // Not on the event loop: the action (shutdown) may close this server and wait for the loop.
      sent.addListener(f -> ControlWorkers.startDetached("s3cache-control-shutdown", reply.afterSent()));
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("control connection failed", cause);
    ctx.close();
  }

  /** The body size a request may have: {@link #MAX_PATH_LIST_BYTES} for POSTs of path lists. */
  static int bodyLimit(HttpMessage message) {
    if (message instanceof HttpRequest r && r.method().equals(io.netty.handler.codec.http.HttpMethod.POST)) {
      String path = new io.netty.handler.codec.http.QueryStringDecoder(r.uri()).path();
      if (path.equals("/plan") || path.equals("/preload") || path.equals("/evict")) {
        return MAX_PATH_LIST_BYTES;
      }
    }
    return MAX_BODY_BYTES;
  }

  /**
   * Caps request bodies by route ({@link #bodyLimit}: checked from Content-Length before the body is
   * read, and after aggregation for a chunked one); an oversized one gets a JSON 413 rather than
   * Netty's empty one.
   */
  static final class LimitedAggregator extends HttpObjectAggregator {
    private final int max;

    /** @param pathLists whether path-list routes may send their larger bodies here */
    LimitedAggregator(boolean pathLists) {
      super(pathLists ? MAX_PATH_LIST_BYTES : MAX_BODY_BYTES);
      this.max = pathLists ? MAX_PATH_LIST_BYTES : MAX_BODY_BYTES;
    }

    private int limit(HttpMessage message) {
      return Math.min(max, bodyLimit(message));
    }

    @Override
    protected boolean isContentLengthInvalid(HttpMessage start, int maxContentLength) {
      return super.isContentLengthInvalid(start, limit(start));
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
      write(ctx.channel(), Reply.error(413, "request body is larger than " + limit(oversized) + " bytes"));
    }
  }

  /**
   * Stands in for the handler on a connection whose peer failed the uid check: it answers the
   * first request with 403 and closes. It waits for the request rather than answering at once so
   * the client reads a status instead of a broken pipe; a peer that sends nothing is dropped after
   * a few seconds.
   */
  static final class Refused extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final long IDLE_SECONDS = 5;
    private final String reason;

    Refused(String reason) {
      this.reason = reason;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
      ctx.executor().schedule(() -> ctx.close(), IDLE_SECONDS, TimeUnit.SECONDS);
      super.channelActive(ctx);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
      write(ctx.channel(), Reply.error(403, reason));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
