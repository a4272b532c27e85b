package io.s3cache.cli;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.config.ConfigException;
import io.s3cache.config.LogLevelSpec;
import io.s3cache.config.SettingKey;
import io.s3cache.logging.LogSetup;
import io.s3cache.logging.LogTarget;
import io.s3cache.control.ControlClient;
import io.s3cache.control.ControlException;
import io.s3cache.control.MountCredentials;
import io.s3cache.control.MountInfo;
import io.s3cache.control.MountRequest;
import io.s3cache.config.Settings;
import io.s3cache.files.PrivateFiles;
import io.s3cache.fuse.FuseMount;
import io.s3cache.fuse.MountException;
import io.s3cache.mount.BucketMount;
import io.s3cache.mount.MountSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code s3cache mount s3://BUCKET[/PREFIX] MOUNTPOINT}. Without --foreground it validates, asks the
 * host daemon for the mount (starting the daemon if none answers) and returns once the mount is
 * live, or relays the daemon's one-line error. With --foreground the mount is served by this
 * process alone, with a cache of its own, until it is unmounted (for systemd).
 */
@Command(mixinStandardHelpOptions = true, name = "mount", description = "Mount s3://BUCKET[/PREFIX] at MOUNTPOINT (read-only).")
final class MountCommand implements Callable<Integer> {

  @Parameters(index = "0", paramLabel = "SOURCE", description = "s3://BUCKET[/PREFIX]")
  String source;

  @Parameters(index = "1", paramLabel = "MOUNTPOINT")
  Path mountPoint;

  @Option(names = "--endpoint", description = "S3 endpoint URL, e.g. http://127.0.0.1:9000 (default: AWS)")
  String endpoint;

  @Option(names = "--region", description = "Region (default us-east-1)")
  String region;

  @Option(names = "--path-style", arity = "0..1", fallbackValue = "true",
      description = "Path-style requests (most S3-compatible stores)")
  Boolean pathStyle;

  @Option(names = "--cache-dir", description = "Directory for the disk tier")
  String cacheDir;

  @Option(names = "--ram-cache", description = "RAM tier size, e.g. 4G (0 disables)")
  String ramCache;

  @Option(names = "--disk-cache", description = "Disk tier cap, e.g. 100G (0 disables)")
  String diskCache;

  @Option(names = "--block-size", description = "Cache block size, a power of two from 64K to 64M (default 8M)")
  String blockSize;

  @Option(names = "--metadata-ttl", description = "How long stat/listings are trusted: 0, 30s, 5m, indefinite")
  String metadataTtl;

  @Option(names = "--check-only",
      description = "Check the settings and the mount point, and mount nothing (mount -f, fake mount)")
  boolean checkOnly;

  @Option(names = "--foreground", description = "Stay in the foreground until unmounted (for systemd)")
  boolean foreground;

  @Option(names = "--config", paramLabel = "FILE", description = "Settings file (key = value, see conf/s3cache.conf)")
  Path config;

  @Option(names = "-o", paramLabel = "KEY=VALUE[,...]", description = "Any setting, or generic mount options")
  List<String> options = new ArrayList<>();

  @Option(names = "--log-target", paramLabel = "TARGET",
      description = "With --foreground: auto (journal under systemd, else console), journal, console or file")
  String logTarget = "auto";

  @Mixin SocketOption socket;

  @Override
  public Integer call() throws Exception {
    PrivateFiles.restrictUmask(); // the daemon this may start, or the foreground mount, writes owner-only
    Settings settings = new Settings();
    settings.readFileOrDefault(config);
    setIf(settings, SettingKey.ENDPOINT, endpoint);
    setIf(settings, SettingKey.REGION, region);
    setIf(settings, SettingKey.PATH_STYLE, pathStyle == null ? null : pathStyle.toString());
    setIf(settings, SettingKey.CACHE_DIR, cacheDir);
    setIf(settings, SettingKey.RAM_CACHE, ramCache);
    setIf(settings, SettingKey.DISK_CACHE, diskCache);
    setIf(settings, SettingKey.BLOCK_SIZE, blockSize);
    setIf(settings, SettingKey.METADATA_TTL, metadataTtl);
    List<String> generic = new ArrayList<>();
    for (String o : options) {
      generic.addAll(settings.applyOptions(o));
    }
    LogTarget.parse(logTarget, Map.of()); // a bad --log-target is a usage error, with or without --foreground
    MountSpec spec = MountSpec.from(source, mountPoint, settings, generic);
    FuseMount.checkMountPoint(spec.mountPoint());
    if (checkOnly) {
      return 0;
    }
    if (!foreground) {
      return mountThroughDaemon(spec, settings, generic);
    }
    return runForeground(spec, settings);
  }

  /** Asks the host daemon for the mount, starting the daemon first if none answers. */
  private int mountThroughDaemon(MountSpec spec, Settings settings, List<String> generic) throws Exception {
    Path sock = socket.tcp() ? null : socket.path(settings);
    // Over TCP the daemon is someone else's to start; on the socket we start one if none answers.
    ProcessHandle started = socket.tcp() ? null : DaemonLauncher.ensureRunning(sock, settings);
    Map<String, String> chosen = new LinkedHashMap<>();
    settings.explicit().forEach((k, v) -> {
      if (k != SettingKey.CONTROL_SOCKET) {
        chosen.put(k.key(), v);
      }
    });
    boolean mounted = false;
    try (ControlClient client = socket.connect(sock)) {
      MountInfo info = client.mount(new MountRequest(source, spec.mountPoint().toString(), chosen, generic,
          MountCredentials.fromEnvironment()));
      mounted = true;
      System.err.println("s3cache: mounted " + info.source() + " at " + info.mountPoint() + " (daemon " + client.where() + ")");
      return 0;
    } catch (ControlException e) {
      if (e.status() == 400) {
        throw new ConfigException(e.getMessage());
      }
      throw new MountException(e.getMessage());
    } finally {
      if (!mounted) {
        DaemonLauncher.stopUnused(sock, started); // the daemon we started for this mount goes with it
      }
    }
  }

  private int runForeground(MountSpec spec, Settings settings) throws Exception {
    LogTarget target = LogTarget.parse(logTarget, System.getenv());
    LogSetup.configure(target, LogLevelSpec.parse(settings.string(SettingKey.LOG_LEVEL)),
        target == LogTarget.FILE ? LogSetup.file(settings) : null);
    BucketMount mount = BucketMount.open(spec, new MetricRegistry(), null);
    Thread hook = new Thread(mount::close, "s3cache-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    System.err.println("s3cache: mounted s3://" + spec.bucket() + "/" + spec.prefix() + " at " + spec.mountPoint());
    int status = 0;
    try {
      mount.terminated().join();
    } catch (RuntimeException e) {
      System.err.println("s3cache: FUSE loop ended: " + S3cacheCli.oneLine(e));
      status = S3cacheCli.FAILED; // so a supervisor's restart-on-failure restarts us
    }
    mount.close();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // already shutting down: the hook runs close(), which is idempotent
    }
    return status;
  }

  private static void setIf(Settings settings, SettingKey key, String value) {
    if (value != null) {
      settings.set(key, value);
    }
  }
}
