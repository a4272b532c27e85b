package io.s3cache.control;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;

/**
 * Client side of the preload stream: splits the chunked body on '\n' as chunks arrive and queues
 * each complete line (a String) for the calling thread; then {@link #END}. A non-2xx answer is
 * collected whole and queued as an {@link ErrorResponse}; a failure as its Throwable.
 */
final class NdjsonStreamHandler extends SimpleChannelInboundHandler<HttpObject> {

  static final Object END = new Object();

  record ErrorResponse(int status, byte[] body) {}

  private final BlockingQueue<Object> events;
  private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
  private int status;
  private boolean finished;

  NdjsonStreamHandler(BlockingQueue<Object> events) {
    this.events = events;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
    if (finished) {
      return;
    }
    if (msg instanceof HttpResponse response) {
      status = response.status().code();
    }
    if (msg instanceof HttpContent content) {
      ByteBuf buf = content.content();
      if (status / 100 != 2) {
        pending.writeBytes(take(buf, buf.readableBytes()));
      } else {
        splitLines(buf);
      }
      if (msg instanceof LastHttpContent) {
        finished = true;
        if (status / 100 != 2) {
          events.add(new ErrorResponse(status, pending.toByteArray()));
        } else {
          if (pending.size() > 0) { // a last line without its newline
            events.add(pending.toString(StandardCharsets.UTF_8));
          }
          events.add(END);
        }
      }
    }
  }

  private void splitLines(ByteBuf buf) {
    while (buf.isReadable()) {
      int newline = buf.indexOf(buf.readerIndex(), buf.writerIndex(), (byte) '\n');
      if (newline < 0) {
        pending.writeBytes(take(buf, buf.readableBytes()));
        return;
      }
      pending.writeBytes(take(buf, newline - buf.readerIndex()));
      buf.skipBytes(1);
      String line = pending.toString(StandardCharsets.UTF_8).strip();
      pending.reset();
      if (!line.isEmpty()) {
        events.add(line);
      }
    }
  }

  private static byte[] take(ByteBuf buf, int n) {
    byte[] bytes = new byte[n];
    buf.readBytes(bytes);
    return bytes;
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (!finished) {
      finished = true;
      events.add(new IOException("the s3cache daemon closed the connection before the preload finished"));
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (!finished) {
      finished = true;
      events.add(cause);
    }
    ctx.close();
  }
}
