package io.s3cache.bench;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import io.s3cache.control.ControlApi;
import io.s3cache.control.PreloadProgress;
import io.s3cache.demo.PageCache;
import io.s3cache.embedded.EmbeddedS3Server;
import io.s3cache.mount.BucketMount;
import io.s3cache.mount.MountSpec;
import io.s3cache.preload.PreloadTarget;
import io.s3cache.preload.Preloader;
import io.s3cache.preload.ShardSelector;
import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectMeta;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import software.amazon.awssdk.core.sync.RequestBody;

/**
 * The cold-path measurements: the endpoint's own 8-way ranged-GET throughput, a cold sequential
 * read through s3cache with and without read-ahead, and preload of the whole bucket against
 * {@code rclone copy} of it to local disk.
 */
final class ColdReadAndPreload {

  private final EmbeddedS3Server server;
  private final Path work;
  private final String ramCache;

  ColdReadAndPreload(EmbeddedS3Server server, Path work, String ramCache) {
    this.server = server;
    this.work = work;
    this.ramCache = ramCache;
  }

  /** Adds large objects under "extra/" so the bucket holds about {@code total} bytes, for preload. */
  static void topUp(EmbeddedS3Server server, String bucket, long present, long total, Path scratch) throws IOException {
    long left = total - present;
    for (int i = 0; left > 0; i++) {
      long size = Math.min(left, 256L << 20);
      Path file = scratch.resolve("extra-" + i + ".bin");
      try (OutputStream out = Files.newOutputStream(file)) {
        SplittableRandom random = new SplittableRandom(100 + i);
        byte[] chunk = new byte[1 << 20];
        ByteBuffer view = ByteBuffer.wrap(chunk);
        for (long n = 0; n < size; n += chunk.length) {
          view.clear();
          while (view.hasRemaining()) {
            view.putLong(random.nextLong());
          }
          out.write(chunk, 0, (int) Math.min(chunk.length, size - n));
        }
      }
      String key = "extra/e" + i + ".bin";
      server.client().putObject(b -> b.bucket(bucket).key(key), RequestBody.fromFile(file));
      Files.delete(file);
      left -= size;
    }
  }

  /**
   * Reads {@code key} whole with 8 threads issuing 8 MiB ranged GETs: what the endpoint can give.
   * The page cache is dropped first, as for every cold read: S3Proxy then reads its files from disk.
   */
  Measure.Result endpointEightWay(ObjectClient client, String key) throws Exception {
    ObjectMeta meta = client.head(key);
    PageCache.drop();
    int part = 8 << 20;
    ExecutorService pool = Executors.newFixedThreadPool(8);
    AtomicLong bytes = new AtomicLong();
    long start = System.nanoTime();
    try {
      List<Future<?>> parts = new ArrayList<>();
      ThreadLocal<ByteBuffer> buffers = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(part));
      for (long off = 0; off < meta.size(); off += part) {
        long offset = off;
        parts.add(pool.submit(() -> {
          ByteBuffer dst = buffers.get().clear().limit((int) Math.min(part, meta.size() - offset));
          client.getRange(key, meta.etag(), offset, dst);
          bytes.addAndGet(dst.position());
          return null;
        }));
      }
      for (Future<?> f : parts) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    return new Measure.Result(1, bytes.get(), System.nanoTime() - start);
  }

  /**
   * Reads {@code key} once through a throwaway mount, so the JIT has compiled the read path before
   * the cold reads are timed: a daemon is long-lived, and only its very first reads pay for that.
   */
  Measure.Result warmUp(String key) throws Exception {
    Path mnt = Files.createDirectories(work.resolve("mnt-warmup"));
    try (BucketMount mount = BucketMount.open(MountSpec.from("s3://bench", mnt, settings("warmup"), List.of()),
        new MetricRegistry(), server.credentials())) {
      PageCache.drop();
      return Measure.sequential(mnt.resolve(key));
    }
  }

  /** A cold sequential read of big.bin through a fresh s3cache mount (empty cache). */
  Measure.Result coldSequential(String name, String readAhead) throws Exception {
    Path mnt = Files.createDirectories(work.resolve("mnt-" + name));
    try (BucketMount mount = BucketMount.open(MountSpec.from("s3://bench", mnt, settings(name)
        .set(SettingKey.READ_AHEAD, readAhead), List.of()), new MetricRegistry(), server.credentials())) {
      PageCache.drop();
      return Measure.sequential(mnt.resolve("big.bin"));
    }
  }

  /** Preload of the whole bucket into a fresh s3cache disk tier with 32 parallel fetches. */
  Measure.Result preload(int parallel) throws Exception {
    Path mnt = Files.createDirectories(work.resolve("mnt-preload"));
    try (BucketMount mount = BucketMount.open(MountSpec.from("s3://bench", mnt, settings("preload"), List.of()),
        new MetricRegistry(), server.credentials())) {
      PageCache.drop();
      List<PreloadProgress> last = new ArrayList<>(List.of(new PreloadProgress("", 0, 0, 0, 0, 0, null, null, false)));
      long start = System.nanoTime();
      new Preloader(mount.tieredCache(), new MetricRegistry()).run(
          List.of(new PreloadTarget(mount.client(), "", true)), ShardSelector.ALL, parallel, false,
          new ControlApi.ProgressSink() {
            @Override
            public void send(PreloadProgress progress) {
              last.set(0, progress);
            }

            @Override
            public boolean cancelled() {
              return false;
            }
          });
      long nanos = System.nanoTime() - start;
      PreloadProgress p = last.get(0);
      if (!p.failed().isEmpty() || p.error() != null) {
        throw new IllegalStateException("preload failed: " + p.failed() + " " + p.error());
      }
      return new Measure.Result(p.files(), p.bytesFetched(), nanos);
    }
  }

  /** rclone copy of the whole bucket to local disk, with the same parallelism as the preload. */
  Measure.Result rcloneCopy(int parallel, long expectedBytes) throws Exception {
    Path conf = PeerMount.writeRcloneConfig(server, work);
    Path dest = work.resolve("rclone-copy");
    PageCache.drop();
    long start = System.nanoTime();
    ProcessBuilder pb = new ProcessBuilder("rclone", "--config", conf.toString(), "copy", "bench:bench", dest.toString(),
        "--transfers", Integer.toString(parallel), "--checkers", Integer.toString(parallel))
        .redirectErrorStream(true).redirectOutput(work.resolve("rclone-copy.log").toFile());
    pb.environment().remove("AWS_CA_BUNDLE");
    Process p = pb.start();
    if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
      throw new IllegalStateException("rclone copy failed; see " + work.resolve("rclone-copy.log"));
    }
    long nanos = System.nanoTime() - start;
    return new Measure.Result(0, expectedBytes, nanos);
  }

  /** The settings of every s3cache mount the benchmark makes, each over a cache dir of its own. */
  Settings settings(String name) {
    return server.mountSettings(work.resolve("cache-" + name))
        .set(SettingKey.RAM_CACHE, ramCache)
        .set(SettingKey.DISK_CACHE, "8G")
        .set(SettingKey.METADATA_TTL, "indefinite");
  }
}
