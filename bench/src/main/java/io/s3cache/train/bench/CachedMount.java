package io.s3cache.train.bench;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import io.s3cache.control.ControlServer;
import io.s3cache.control.ControlServerConfig;
import io.s3cache.control.MountRequest;
import io.s3cache.daemon.Daemon;
import io.s3cache.embedded.EmbeddedS3Server;
import io.s3cache.fuse.MountTable;
import io.s3cache.metrics.MetricNames;
import io.s3cache.mount.CacheRuntime;
import io.s3cache.train.DaemonLink;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A fresh s3cache daemon in this JVM (its own empty cache dir, metrics and control socket) with the
 * bucket mounted through the latency proxy, and the bridge's {@link DaemonLink} to it: plans go the
 * same way as from {@code bin/s3cache-train}, over the control socket.
 */
final class CachedMount implements AutoCloseable {

  /** S3 requests the daemon made, by kind (its own metrics). */
  record Requests(long gets, long heads, long lists) {
    Requests minus(Requests o) {
      return new Requests(gets - o.gets, heads - o.heads, lists - o.lists);
    }

    long total() {
      return gets + heads + lists;
    }
  }

  private final MetricRegistry metrics = new MetricRegistry();
  private final Daemon daemon;
  private final ControlServer control;
  private final DaemonLink link;
  private final Path mountPoint;

  CachedMount(EmbeddedS3Server server, URI proxy, Path work, String name, String ramCache, String diskCache,
      String bucketPrefix, PrintStream err) throws Exception {
    Settings settings = server.mountSettings(work.resolve("cache-" + name))
        .set(SettingKey.ENDPOINT, proxy.toString())
        .set(SettingKey.RAM_CACHE, ramCache)
        .set(SettingKey.DISK_CACHE, diskCache)
        .set(SettingKey.METADATA_TTL, "indefinite");
    daemon = new Daemon(settings, CacheRuntime.open(settings, metrics), metrics, server.credentials());
    ControlServer c = null;
    try {
      Path socket = work.resolve(name + ".sock");
      c = ControlServer.start(daemon, new ControlServerConfig(socket, null));
      mountPoint = Files.createDirectories(work.resolve("mnt-" + name));
      daemon.mount(new MountRequest(bucketPrefix, mountPoint.toString(), Map.of(), List.of()));
      link = DaemonLink.connect(socket, err);
      if (!link.connected()) {
        throw new IllegalStateException("the benchmark's own daemon does not answer on " + socket);
      }
    } catch (Exception | Error e) {
      if (c != null) {
        c.close();
      }
      daemon.close();
      throw e;
    }
    control = c;
  }

  Path mountPoint() {
    return mountPoint;
  }

  DaemonLink link() {
    return link;
  }

  Requests requests() {
    return new Requests(metrics.timer(MetricNames.S3_GET).getCount(), metrics.timer(MetricNames.S3_HEAD).getCount(),
        metrics.timer(MetricNames.S3_LIST).getCount());
  }

  @Override
  public void close() {
    link.close();
    control.close();
    daemon.close();
    if (MountTable.isMounted(mountPoint)) {
      throw new IllegalStateException(mountPoint + " is still mounted after the daemon closed");
    }
  }
}
