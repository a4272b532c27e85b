package io.s3cache.e2e;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import io.s3cache.embedded.EmbeddedS3Server;
import io.s3cache.fuse.MountTable;
import io.s3cache.metrics.MetricNames;
import io.s3cache.mount.BucketMount;
import io.s3cache.mount.MountSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A real S3 server on 127.0.0.1 (S3Proxy, filesystem backend) and real FUSE mounts of its buckets,
 * made in this JVM. Closing it unmounts everything and stops the server.
 */
final class MountFixture implements AutoCloseable {

  final Path dir;
  final EmbeddedS3Server server;
  /** One registry per mount: each mount registers its own cache gauges. */
  private final List<MetricRegistry> registries = new java.util.ArrayList<>();
  private final List<BucketMount> mounts = new java.util.ArrayList<>();

  MountFixture(Path dir) throws Exception {
    this.dir = dir;
    this.server = EmbeddedS3Server.start(Files.createDirectories(dir.resolve("s3")));
  }

  S3Client s3() {
    return server.client();
  }

  void put(String bucket, String key, byte[] content) {
    s3().putObject(b -> b.bucket(bucket).key(key), RequestBody.fromBytes(content));
  }

  /** Settings pointing at the embedded server, with a fresh cache dir; override what a test needs. */
  Settings settings(String name) {
    return server.mountSettings(dir.resolve("cache-" + name))
        .set(SettingKey.RAM_CACHE, "256M")
        .set(SettingKey.DISK_CACHE, "1G")
        .set(SettingKey.METADATA_TTL, "60s");
  }

  BucketMount mount(String source, String name, Map<SettingKey, String> overrides) throws Exception {
    Settings settings = settings(name);
    overrides.forEach(settings::set);
    Path mnt = Files.createDirectories(dir.resolve("mnt-" + name));
    MetricRegistry metrics = new MetricRegistry();
    registries.add(metrics);
    BucketMount mount = BucketMount.open(MountSpec.from(source, mnt, settings, List.of()), metrics, server.credentials());
    mounts.add(mount);
    return mount;
  }

  /** GET requests made by every mount of this fixture so far. */
  long gets() {
    return registries.stream().mapToLong(r -> r.timer(MetricNames.S3_GET).getCount()).sum();
  }

  /** The disk tier's {@code cache.disk.bytes} gauge of the {@code i}-th mount of this fixture. */
  long diskBytes(int i) {
    return (Long) registries.get(i).getGauges().get(MetricNames.CACHE_DISK_BYTES).getValue();
  }

  @Override
  public void close() {
    for (BucketMount m : mounts) {
      m.close();
    }
    server.close();
    for (BucketMount m : mounts) {
      if (MountTable.isMounted(m.mountPoint())) {
        throw new AssertionError("left mounted: " + m.mountPoint());
      }
    }
  }
}
