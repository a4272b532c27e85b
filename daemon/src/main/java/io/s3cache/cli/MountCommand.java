package io.s3cache.cli;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.config.ConfigException;
import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import io.s3cache.fuse.FuseMount;
import io.s3cache.fuse.MountException;
import io.s3cache.mount.BucketMount;
import io.s3cache.mount.MountSpec;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code s3cache mount s3://BUCKET[/PREFIX] MOUNTPOINT}. Without --foreground it validates, starts a
 * detached copy of itself in the foreground mode, and returns once that copy reports the mount live
 * (or relays its one-line error).
 */
@Command(mixinStandardHelpOptions = true, name = "mount", description = "Mount s3://BUCKET[/PREFIX] at MOUNTPOINT (read-only).")
final class MountCommand implements Callable<Integer> {

  /** The line a detached child prints on stdout once its mount is live. */
  static final String READY = "S3CACHE-READY";
  static final String ERROR = "S3CACHE-ERROR ";

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

  @Option(names = "--foreground", description = "Stay in the foreground until unmounted (for systemd)")
  boolean foreground;

  @Option(names = "--config", paramLabel = "FILE", description = "Settings file (key = value, see conf/s3cache.conf)")
  Path config;

  @Option(names = "-o", paramLabel = "KEY=VALUE[,...]", description = "Any setting, or generic mount options")
  List<String> options = new ArrayList<>();

  @Option(names = "--notify-ready", hidden = true)
  boolean notifyReady;

  @Override
  public Integer call() throws Exception {
    Settings settings = new Settings();
    if (config != null) {
      settings.readFile(config);
    }
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
    MountSpec spec = MountSpec.from(source, mountPoint, settings, generic);
    FuseMount.checkMountPoint(spec.mountPoint());
    if (!foreground) {
      return new DetachedMount(spec, settings).start(rebuildArgs());
    }
    return runForeground(spec);
  }

  private int runForeground(MountSpec spec) throws Exception {
    PrintStream ready = System.out;
    BucketMount mount;
    try {
      mount = BucketMount.open(spec, new MetricRegistry(), null);
    } catch (MountException | ConfigException e) {
      if (notifyReady) {
        ready.println(ERROR + S3cacheCli.oneLine(e));
        ready.flush();
      }
      throw e;
    }
    Thread hook = new Thread(mount::close, "s3cache-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    System.err.println("s3cache: mounted s3://" + spec.bucket() + "/" + spec.prefix() + " at " + spec.mountPoint());
    if (notifyReady) {
      ready.println(READY);
      ready.flush();
      ready.close(); // the parent has what it waited for; later output goes to the log
      System.setOut(System.err);
    }
    try {
      mount.terminated().join();
    } catch (RuntimeException e) {
      System.err.println("s3cache: FUSE loop ended: " + S3cacheCli.oneLine(e));
    }
    mount.close();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // already shutting down: the hook runs close(), which is idempotent
    }
    return 0;
  }

  /** The same mount command for the detached child, in the foreground and reporting readiness. */
  private List<String> rebuildArgs() {
    List<String> args = new ArrayList<>(List.of("mount", source, mountPoint.toAbsolutePath().toString(),
        "--foreground", "--notify-ready"));
    addIf(args, "--endpoint", endpoint);
    addIf(args, "--region", region);
    if (pathStyle != null) {
      args.add("--path-style=" + pathStyle);
    }
    addIf(args, "--cache-dir", cacheDir);
    addIf(args, "--ram-cache", ramCache);
    addIf(args, "--disk-cache", diskCache);
    addIf(args, "--block-size", blockSize);
    addIf(args, "--metadata-ttl", metadataTtl);
    if (config != null) {
      args.add("--config");
      args.add(config.toAbsolutePath().toString());
    }
    for (String o : options) {
      args.add("-o");
      args.add(o);
    }
    return args;
  }

  private static void addIf(List<String> args, String name, String value) {
    if (value != null) {
      args.add(name);
      args.add(value);
    }
  }

  private static void setIf(Settings settings, SettingKey key, String value) {
    if (value != null) {
      settings.set(key, value);
    }
  }
}
