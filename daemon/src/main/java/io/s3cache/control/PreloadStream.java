package io.s3cache.control;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.s3cache.control.ControlRoutes.Reply;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one preload on its own thread and streams each progress report as a JSON line in a chunked
 * 200 response ({@code application/x-ndjson}). The response head goes out with the first report,
 * so a preload that fails before reporting anything still gets a plain error status. A failure
 * after that can no longer change the status: it becomes a final report with {@code error} set.
 *
 * <p>Writes come from the preload thread; {@code send} and the end are synchronized so lines never
 * interleave. When the client stops reading, {@code send} waits for the socket to drain (up to a
 * minute, then gives up on the client), so a stalled reader slows the preload instead of
 * buffering without bound.
 */
final class PreloadStream implements ControlApi.ProgressSink, Runnable {

  private static final Logger log = LoggerFactory.getLogger(PreloadStream.class);
  private static final long DRAIN_TIMEOUT_SECONDS = 60;

  private final ControlApi api;
  private final PreloadRequest request;
  private final Channel channel;
  private boolean started; // guarded by this
  private PreloadProgress last; // guarded by this

  PreloadStream(ControlApi api, PreloadRequest request, Channel channel) {
    this.api = api;
    this.request = request;
    this.channel = channel;
  }

  @Override
  public void run() {
    try {
      api.preload(request, this);
      end(null, 200);
    } catch (ControlException e) {
      end(e.getMessage(), e.status());
    } catch (RuntimeException | Error e) {
      log.error("preload of {} failed", request.paths(), e);
      end("internal error: " + e, 500);
    }
  }

  @Override
  public synchronized void send(PreloadProgress progress) {
    if (!channel.isActive()) {
      return;
    }
    startIfNeeded();
    ChannelFuture written = channel.writeAndFlush(line(progress));
    last = progress;
    if (!channel.isWritable() && !written.awaitUninterruptibly(DRAIN_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      log.warn("preload client read nothing for {} s; closing its connection", DRAIN_TIMEOUT_SECONDS);
      channel.close();
    }
  }

  @Override
  public boolean cancelled() {
    return !channel.isActive();
  }

  private synchronized void end(String error, int status) {
    if (!channel.isActive()) {
      return; // the client went away; nobody to tell
    }
    if (error != null && !started) {
      ControlHttpHandler.write(channel, Reply.error(status, error));
      return;
    }
    startIfNeeded();
    if (error != null) {
      PreloadProgress p = last != null ? last : new PreloadProgress("done", 0, 0, 0, 0, 0, List.of(), null, true);
      channel.write(line(new PreloadProgress(
          "done", p.files(), p.bytes(), p.filesDone(), p.bytesDone(), p.bytesFetched(), p.failed(), error, true)));
    }
    channel.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(ChannelFutureListener.CLOSE);
  }

  private void startIfNeeded() {
    if (started) {
      return;
    }
    started = true;
    HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    head.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, ControlRoutes.NDJSON)
        .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED)
        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    channel.write(head);
  }

  private static DefaultHttpContent line(PreloadProgress progress) {
    byte[] json = ControlJson.write(progress);
    byte[] line = new byte[json.length + 1];
    System.arraycopy(json, 0, line, 0, json.length);
    line[json.length] = '\n';
    return new DefaultHttpContent(Unpooled.wrappedBuffer(line));
  }
}
