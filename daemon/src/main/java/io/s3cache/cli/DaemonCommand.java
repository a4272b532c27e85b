package io.s3cache.cli;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.config.ConfigException;
import io.s3cache.config.LogLevelSpec;
import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import io.s3cache.control.ControlServer;
import io.s3cache.control.ControlServerConfig;
import io.s3cache.control.ControlToken;
import io.s3cache.daemon.Daemon;
import io.s3cache.daemon.SystemdNotifier;
import io.s3cache.files.PrivateFiles;
import io.s3cache.logging.LogSetup;
import io.s3cache.logging.LogTarget;
import io.s3cache.mount.CacheRuntime;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code s3cache daemon}: the host daemon in the foreground (for systemd). It owns the shared cache
 * and serves the control socket; `s3cache mount` asks it for mounts. SIGTERM unmounts everything.
 */
@Command(mixinStandardHelpOptions = true, name = "daemon",
    description = "Run the s3cache daemon in the foreground (one per host; s3cache mount starts one if needed).")
final class DaemonCommand implements Callable<Integer> {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(DaemonCommand.class);

  @Mixin SocketOption socket;

  @Option(names = "--config", paramLabel = "FILE", description = "Settings file (see conf/s3cache.conf)")
  Path config;

  @Option(names = "-o", paramLabel = "KEY=VALUE[,...]", description = "Any setting")
  List<String> options = new ArrayList<>();

  @Option(names = "--notify-ready", hidden = true)
  boolean notifyReady;

  @Option(names = "--log-target", paramLabel = "TARGET",
      description = "auto (journal under systemd, else console), journal (stdout), console (stderr) or file (log_file)")
  String logTarget = "auto";

  @Override
  public Integer call() throws Exception {
    PrintStream ready = System.out;
    PrivateFiles.restrictUmask(); // cached and staged bytes, the index and logs: owner-only
    try {
      Settings settings = new Settings();
      settings.readFileOrDefault(config);
      for (String o : options) {
        List<String> generic = settings.applyOptions(o);
        if (!generic.isEmpty()) {
          throw new io.s3cache.config.ConfigException("unknown setting '" + generic.get(0) + "'");
        }
      }
      settings.validate();
      LogTarget target = LogTarget.parse(logTarget, System.getenv());
      LogSetup.configure(target, LogLevelSpec.parse(settings.string(SettingKey.LOG_LEVEL)),
          target == LogTarget.FILE ? LogSetup.file(settings) : null);
      Path socketPath = socket.path(settings);
      settings.set(SettingKey.CONTROL_SOCKET, socketPath.toString());
      ControlServerConfig listeners = listeners(socketPath, settings); // checked before the cache opens
      MetricRegistry metrics = new MetricRegistry();
      CacheRuntime runtime = CacheRuntime.open(settings, metrics);
      Daemon daemon = new Daemon(settings, runtime, metrics, null);
      ControlServer server;
      try {
        server = ControlServer.start(daemon, listeners);
      } catch (Exception e) {
        daemon.close();
        throw e;
      }
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        SystemdNotifier.notify("STOPPING=1");
        daemon.close();
        server.close();
      }, "s3cache-shutdown"));
      System.err.println("s3cache: daemon " + ProcessHandle.current().pid() + " serving " + socketPath);
      LOG.info("daemon {} serving {}", ProcessHandle.current().pid(), socketPath);
      // Type=notify: systemd starts ordering units after us (fstab mounts) only once the socket answers.
      SystemdNotifier.notify("READY=1\nSTATUS=serving " + socketPath + "\nMAINPID=" + ProcessHandle.current().pid());
      if (notifyReady) {
        ready.println(DaemonLauncher.READY);
        ready.flush();
        ready.close();
        System.setOut(System.err);
      }
      daemon.awaitShutdown();
      SystemdNotifier.notify("STOPPING=1");
      server.close();
      return 0;
    } catch (Exception e) {
      if (notifyReady) {
        ready.println(DaemonLauncher.ERROR + S3cacheCli.oneLine(e));
        ready.flush();
      }
      throw e;
    }
  }

  /** The socket, and the TCP listeners when configured: control_tcp needs its token file. */
  private static ControlServerConfig listeners(Path socketPath, Settings settings) {
    InetSocketAddress tcp = address(settings, SettingKey.CONTROL_TCP);
    ControlToken token = null;
    if (tcp != null) {
      String file = settings.string(SettingKey.CONTROL_TOKEN_FILE);
      if (file.isEmpty()) {
        throw new ConfigException("control_tcp needs control_token_file: a file that only the daemon's user "
            + "can read, holding the token every TCP request must present");
      }
      token = ControlToken.readOwnerOnly(Path.of(file));
    }
    return new ControlServerConfig(socketPath, tcp, token, address(settings, SettingKey.METRICS_LISTEN));
  }

  /** HOST:PORT, or PORT / :PORT for loopback; null when the setting is empty. */
  private static InetSocketAddress address(Settings settings, SettingKey key) {
    String v = settings.string(key).strip();
    if (v.isEmpty()) {
      return null;
    }
    int colon = v.lastIndexOf(':');
    String host = colon <= 0 ? InetAddress.getLoopbackAddress().getHostAddress() : v.substring(0, colon);
    try {
      int port = Integer.parseInt(v.substring(colon + 1));
      if (port < 0 || port > 65535) {
        throw new NumberFormatException();
      }
      return new InetSocketAddress(host, port);
    } catch (IllegalArgumentException e) {
      throw new ConfigException("invalid " + key.key() + " '" + v + "': expected HOST:PORT");
    }
  }
}
