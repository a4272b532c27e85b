package io.s3cache.cli;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.config.LogLevelSpec;
import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import io.s3cache.control.ControlServer;
import io.s3cache.control.ControlServerConfig;
import io.s3cache.daemon.Daemon;
import io.s3cache.daemon.SystemdNotifier;
import io.s3cache.logging.LogSetup;
import io.s3cache.logging.LogTarget;
import io.s3cache.mount.CacheRuntime;
import java.io.PrintStream;
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
      MetricRegistry metrics = new MetricRegistry();
      CacheRuntime runtime = CacheRuntime.open(settings, metrics);
      Daemon daemon = new Daemon(settings, runtime, metrics, null);
      ControlServer server;
      try {
        server = ControlServer.start(daemon, new ControlServerConfig(socketPath, tcp(settings)));
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

  private static InetSocketAddress tcp(Settings settings) {
    String v = settings.string(SettingKey.CONTROL_TCP);
    if (v.isEmpty()) {
      return null;
    }
    int colon = v.lastIndexOf(':');
    if (colon < 0) {
      throw new io.s3cache.config.ConfigException("invalid control_tcp '" + v + "': expected HOST:PORT");
    }
    try {
      return new InetSocketAddress(v.substring(0, colon), Integer.parseInt(v.substring(colon + 1)));
    } catch (IllegalArgumentException e) {
      throw new io.s3cache.config.ConfigException("invalid control_tcp '" + v + "': expected HOST:PORT");
    }
  }
}
