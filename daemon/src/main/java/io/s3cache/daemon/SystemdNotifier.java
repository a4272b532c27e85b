package io.s3cache.daemon;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollDomainDatagramChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.unix.DomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * sd_notify(3) for a {@code Type=notify} unit: sends "READY=1" (or "STOPPING=1", ...) as one
 * datagram to the AF_UNIX socket named by {@code $NOTIFY_SOCKET}. Java's own API has no Unix
 * datagram sockets, so Netty's epoll transport (already here for the control socket) sends it. The
 * message comes from the daemon's own PID, so the unit keeps the default NotifyAccess=main, and
 * there is no race with a helper process that exits before systemd reads its message.
 */
public final class SystemdNotifier {

  private static final Logger LOG = LoggerFactory.getLogger(SystemdNotifier.class);

  private SystemdNotifier() {}

  /** Sends {@code state} to {@code $NOTIFY_SOCKET}; returns false when it is unset (not under systemd). */
  public static boolean notify(String state) {
    return notify(System.getenv("NOTIFY_SOCKET"), state);
  }

  /**
   * @param socket a path, or "@name" for an abstract socket (as systemd writes it); null or empty
   *     does nothing
   */
  public static boolean notify(String socket, String state) {
    if (socket == null || socket.isEmpty()) {
      return false;
    }
    String address = socket.startsWith("@") ? "\0" + socket.substring(1) : socket;
    EventLoopGroup group = new EpollEventLoopGroup(1);
    try {
      // connect(2) on a datagram socket only sets its destination; an unbound one cannot sendto.
      Channel ch = new Bootstrap().group(group).channel(EpollDomainDatagramChannel.class)
          .handler(new ChannelInboundHandlerAdapter()).connect(new DomainSocketAddress(address)).sync().channel();
      ch.writeAndFlush(Unpooled.copiedBuffer(state, StandardCharsets.UTF_8)).sync();
      ch.close().sync();
      LOG.debug("told systemd {}", state.replace('\n', ' '));
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (Exception e) {
      LOG.warn("cannot notify systemd at {}: {}", socket, e.toString());
      return false;
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }
}
