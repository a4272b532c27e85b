package io.s3cache.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollDomainDatagramChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.unix.DomainDatagramPacket;
import io.netty.channel.unix.DomainSocketAddress;
import io.s3cache.control.ControlClient;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipped unit passes systemd-analyze verify, and the daemon behaves as its Type=notify asks:
 * READY=1 on $NOTIFY_SOCKET once the control socket answers, STOPPING=1 when it stops, and
 * journald-style log lines on stdout when systemd started it. PID 1 need not be systemd: the test
 * plays systemd's part with a real AF_UNIX datagram socket.
 */
class SystemdTest {

  private static final Path UNIT = Path.of("..", "systemd", "s3cache.service").toAbsolutePath().normalize();
  private static final Path S3CACHE = Path.of("..", "bin", "s3cache").toAbsolutePath().normalize();

  @TempDir Path dir;

  @Test
  void shippedUnitPassesSystemdAnalyzeVerify() throws Exception {
    assumeTrue(Host.has("systemd-analyze"), "systemd-analyze is missing (bin/install-deps installs the systemd package)");
    // verify checks that ExecStart exists: point it at this tree's launcher (the .deb test verifies
    // the installed unit as it is).
    String unit = Files.readString(UNIT);
    assertTrue(unit.contains("ExecStart=/usr/bin/s3cache daemon"), unit);
    Path copy = dir.resolve("s3cache.service");
    Files.writeString(copy, unit.replace("/usr/bin/s3cache", S3CACHE.toString()));
    Host.Result r = Host.run("systemd-analyze", "verify", copy.toString());
    assertEquals(0, r.exit(), r.toString());
    assertEquals("", (r.out() + r.err()).strip(), "no warnings either");
    // And the check is real: a misspelt key is reported.
    Files.writeString(copy, unit.replace("/usr/bin/s3cache", S3CACHE.toString()).replace("LimitNOFILE", "LimitNOFILES"));
    Host.Result bad = Host.run("systemd-analyze", "verify", copy.toString());
    assertTrue((bad.out() + bad.err()).contains("LimitNOFILES"), bad.toString());
    // No option that would give the service a mount namespace of its own (mounts must reach the host).
    for (String option : List.of("PrivateTmp", "ProtectSystem", "ProtectHome", "PrivateDevices", "PrivateMounts",
        "ReadOnlyPaths", "ProtectKernelModules", "ProtectKernelTunables", "ProtectControlGroups", "TemporaryFileSystem")) {
      assertFalse(unit.contains("\n" + option + "="), option + " would hide mounts from the host");
    }
  }

  @Test
  void daemonReportsReadinessAndStoppingAndLogsForTheJournal() throws Exception {
    Path notify = dir.resolve("notify");
    Path socket = dir.resolve("s3cache.sock");
    BlockingQueue<String> messages = new LinkedBlockingQueue<>();
    EventLoopGroup group = new EpollEventLoopGroup(1);
    Process p = null;
    try {
      Channel listener = new Bootstrap().group(group).channel(EpollDomainDatagramChannel.class)
          .handler(new SimpleChannelInboundHandler<DomainDatagramPacket>() {
            @Override
            protected void channelRead0(ChannelHandlerContext ctx, DomainDatagramPacket msg) {
              messages.add(msg.content().toString(StandardCharsets.UTF_8));
            }
          }).bind(new DomainSocketAddress(notify.toString())).sync().channel();
      ProcessBuilder pb = new ProcessBuilder(S3CACHE.toString(), "daemon", "--socket", socket.toString(),
          "-o", "cache_dir=" + dir.resolve("cache") + ",disk_cache=0,ram_cache=16M,log_level=debug")
          .redirectOutput(dir.resolve("stdout").toFile()).redirectError(dir.resolve("stderr").toFile())
          .redirectInput(new File("/dev/null"));
      pb.environment().put("NOTIFY_SOCKET", notify.toString());
      pb.environment().put("INVOCATION_ID", "0123456789abcdef0123456789abcdef"); // what systemd sets
      p = pb.start();
      String ready = messages.poll(120, TimeUnit.SECONDS);
      assertTrue(ready != null && ready.contains("READY=1"), "READY=1 sent: " + ready + Files.readString(dir.resolve("stderr")));
      assertTrue(ready.contains("MAINPID=" + p.pid()), ready);
      try (ControlClient c = ControlClient.connect(socket)) {
        assertEquals(p.pid(), c.health().pid(), "the control socket answers once READY=1 is sent");
        c.shutdown();
      }
      String stopping = messages.poll(60, TimeUnit.SECONDS);
      assertEquals("STOPPING=1", stopping);
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the daemon exits");
      assertEquals(0, p.exitValue());
      listener.close().sync();
      String stdout = Files.readString(dir.resolve("stdout"));
      assertTrue(stdout.contains("<6>INFO io.s3cache.cli.DaemonCommand: daemon " + p.pid() + " serving " + socket), stdout);
      assertTrue(stdout.contains("<7>DEBUG io.s3cache.daemon.SystemdNotifier: told systemd READY=1"), stdout);
      for (String line : stdout.split("\n")) {
        assertTrue(line.matches("<[0-7]>[A-Z]+ \\S+: .*|\\s+at .*|\\S.*Exception.*"), "journal line: " + line);
      }
    } finally {
      if (p != null && p.isAlive()) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
  }
}
