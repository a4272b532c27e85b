package io.s3cache.bench;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import io.s3cache.embedded.EmbeddedS3Server;
import io.s3cache.metrics.MetricNames;
import io.s3cache.mount.BucketMount;
import io.s3cache.mount.MountSpec;
import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectClients;
import io.s3cache.testing.data.PageCache;
import io.s3cache.write.ObjectUploader;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@code s3cache bench-write}: one checkpoint file written to local disk, through an s3cache
 * writable mount and through peer tools' mounts, in one run against one embedded S3 server, plus
 * the endpoint's own multipart upload of the same file as the ceiling.
 *
 * <p>Every target gets the same writer: {@code dd bs=CHUNK conv=fsync} in a process of its own
 * (open, sequential writes, fsync, close), reading a file of pseudo-random bytes that sits in the
 * page cache. A target's time runs from the start of dd until the S3 server answers a HEAD with the
 * full size: s3cache and s3fs upload before fsync/close return; rclone with
 * {@code --vfs-cache-mode writes} uploads after close, so for it the wait after close counts too.
 * Then the object's SHA-256 is read back from the server and compared, and the object and the
 * tool's staging are deleted before the next target.
 */
public final class WriteBenchmark {

  /** What to run; {@code partSize} and {@code uploadThreads} are given to every tool alike. */
  public record Options(Path workDir, long size, List<String> peers, long chunk, long partSize, int uploadThreads) {}

  /**
   * One target's write, times from its start: when close returned, when a HEAD first showed the
   * whole object in S3; it is done when both have happened.
   */
  private record Row(long bytes, double closeSeconds, double inS3Seconds, double cpuSeconds, String check) {
    double doneSeconds() {
      return Math.max(closeSeconds, inS3Seconds);
    }

    double mbPerSecond() {
      return bytes / 1e6 / doneSeconds();
    }
  }

  static final String BUCKET = "wbench";
  private static final String ENDPOINT = "endpoint: SDK multipart upload";
  private static final String UNSIGNED = "endpoint: unsigned payload + CRC32";
  private static final long WARM_UP = 64L << 20;
  private static final long UPLOAD_TIMEOUT_SECONDS = 3600;

  private final Options options;
  private final PrintStream out;
  private final Map<String, Row> rows = new LinkedHashMap<>();
  private Path source;
  private String sourceSha;
  private double s3cacheUpload = Double.NaN;
  private long partsWhileWriting;

  public WriteBenchmark(Options options, PrintStream out) {
    this.options = options;
    this.out = out;
  }

  public void run() throws Exception {
    Path work = WorkDir.prepare(options.workDir());
    source = work.resolve("checkpoint.bin");
    long size = options.size();
    out.printf(Locale.ROOT, "generating %d MiB of pseudo-random bytes in %s ...%n", size >> 20, source);
    long start = System.nanoTime();
    sourceSha = generate(source, size);
    out.printf(Locale.ROOT, "  %.1f s (generate + write + fsync), SHA-256 %s%n", (System.nanoTime() - start) / 1e9,
        sourceSha);

    out.println("local disk ...");
    rows.put("local disk", local(work));
    try (EmbeddedS3Server server = EmbeddedS3Server.start(Files.createDirectories(work.resolve("s3")))) {
      server.createBucket(BUCKET);
      ObjectCheck s3 = new ObjectCheck(server.client(), BUCKET);
      out.printf("embedded S3 (S3Proxy, filesystem backend) at %s%n", server.endpoint());
      Path mnt = Files.createDirectories(work.resolve("s3cache-mnt"));
      Path cache = work.resolve("s3cache-cache");
      Settings settings = server.mountSettings(cache)
          .set(SettingKey.UPLOAD_PART_SIZE, Long.toString(options.partSize()))
          .set(SettingKey.UPLOAD_THREADS, Integer.toString(options.uploadThreads()));
      MountSpec spec = MountSpec.from("s3://" + BUCKET, mnt, settings, List.of("rw"));
      out.printf(Locale.ROOT, "s3cache: -o rw, multipart_threshold=%d MiB, upload_part_size=%d MiB, upload_threads=%d,"
          + " checksum_mode=%s, other settings default%n", spec.write().multipartThreshold() >> 20,
          spec.write().partSizeFor(size) >> 20, spec.write().uploadThreads(),
          spec.s3().checksumMode().name().toLowerCase(Locale.ROOT));
      MetricRegistry metrics = new MetricRegistry();
      try (BucketMount mount = BucketMount.open(spec, metrics, server.credentials())) {
        out.printf(Locale.ROOT, "warming up the JIT: %d MiB through s3cache (not counted) ...%n", WARM_UP >> 20);
        dd(source, mnt.resolve("warm-up.bin"), Math.min(WARM_UP, size));
        Files.delete(mnt.resolve("warm-up.bin"));
        out.println("endpoint: SDK multipart upload of the file (s3cache's ObjectUploader, no FUSE) ...");
        rows.put(ENDPOINT, endpoint(server, spec, s3));
        out.println("endpoint: the same upload with UNSIGNED-PAYLOAD and a CRC32 trailer (no SHA-256 of the bytes) ...");
        rows.put(UNSIGNED, unsigned(server, spec, s3));
        out.println("s3cache ...");
        long partsBefore = metrics.counter(MetricNames.UPLOAD_PARTS_WHILE_WRITING).getCount(); // the warm-up's
        rows.put("s3cache", throughMount(mnt, "ckpt-s3cache.pt", -1, s3));
        // the largest upload the mount timed is this one (the warm-up's was smaller)
        s3cacheUpload = metrics.timer(MetricNames.UPLOADS).getSnapshot().getMax() / 1e9;
        partsWhileWriting = metrics.counter(MetricNames.UPLOAD_PARTS_WHILE_WRITING).getCount() - partsBefore;
        out.printf(Locale.ROOT, "  of which the S3 upload (s3cache's %s timer): %.2f s%n", MetricNames.UPLOADS,
            s3cacheUpload);
      }
      BenchData.deleteTree(cache);
      for (String peer : options.peers()) {
        if (!PeerMount.installed(peer)) {
          out.printf("%s is not installed: skipped (apt-get install %s)%n", peer, peer);
          continue;
        }
        try (PeerMount m = peer.equals("s3fs")
            ? PeerMount.s3fsWritable(server, BUCKET, work, options.partSize(), options.uploadThreads())
            : PeerMount.rcloneWritable(server, BUCKET, work, options.partSize(), options.uploadThreads())) {
          out.printf("%s: %s%n", peer, String.join(" ", peer.equals("s3fs")
              ? PeerMount.s3fsWriteCommand(server.endpoint().toString(), BUCKET, m.mountPoint(),
                  work.resolve("s3fs-passwd"), work.resolve("s3fs-tmp"), options.partSize(), options.uploadThreads())
              : PeerMount.rcloneWriteCommand(work.resolve("rclone.conf"), BUCKET, m.mountPoint(),
                  work.resolve("rclone-cache"), options.partSize(), options.uploadThreads())));
          rows.put(peer, throughMount(m.mountPoint(), "ckpt-" + peer + ".pt", m.pid(), s3));
        }
        BenchData.deleteTree(work.resolve(peer.equals("s3fs") ? "s3fs-tmp" : "rclone-cache"));
      }
    }
    report();
  }

  /** The local reference: the same dd into a file on the work dir's disk; fsync makes it durable. */
  private Row local(Path work) throws Exception {
    Path copy = work.resolve("local-copy.bin");
    prepare();
    double cpu = CpuTime.self();
    long start = System.nanoTime();
    dd(source, copy, -1);
    long done = System.nanoTime();
    Row r = row(start, done, done, CpuTime.self() - cpu, Files.size(copy) == options.size() ? "size" : "SHORT");
    Files.delete(copy);
    return r;
  }

  /**
   * The ceiling: the same file uploaded by the SDK client and {@link ObjectUploader} an s3cache mount
   * uses, with its part size and parallelism, straight from the local file (no FUSE, no staging).
   */
  private Row endpoint(EmbeddedS3Server server, MountSpec spec, ObjectCheck s3) throws Exception {
    String key = "ckpt-endpoint.pt";
    ExecutorService parts = Executors.newFixedThreadPool(spec.write().uploadThreads());
    try (ObjectClient client = ObjectClients.create(BUCKET, spec.s3(), new MetricRegistry(), server.credentials())) {
      prepare();
      double cpu = CpuTime.self();
      long start = System.nanoTime();
      new ObjectUploader(client, spec.write(), parts).upload(key, source, options.size());
      long done = System.nanoTime();
      long complete = s3.awaitSize(key, options.size(), UPLOAD_TIMEOUT_SECONDS);
      Row r = row(start, done, complete, CpuTime.self() - cpu, verify(s3, key));
      s3.delete(key);
      return r;
    } finally {
      parts.shutdownNow();
    }
  }

  /** The same upload by {@link UnsignedUpload}: what signing every payload byte costs. */
  private Row unsigned(EmbeddedS3Server server, MountSpec spec, ObjectCheck s3) throws Exception {
    String key = "ckpt-unsigned.pt";
    long partSize = spec.write().partSizeFor(options.size());
    try (var client = UnsignedUpload.client(server, spec.s3().maxConnections())) {
      prepare();
      double cpu = CpuTime.self();
      long start = System.nanoTime();
      if (options.size() < spec.write().multipartThreshold()) {
        client.putObject(b -> b.bucket(BUCKET).key(key), source);
      } else {
        UnsignedUpload.upload(client, BUCKET, key, source, options.size(), partSize, spec.write().uploadThreads());
      }
      long done = System.nanoTime();
      long complete = s3.awaitSize(key, options.size(), UPLOAD_TIMEOUT_SECONDS);
      Row r = row(start, done, complete, CpuTime.self() - cpu, verify(s3, key));
      s3.delete(key);
      return r;
    }
  }

  /**
   * dd into {@code root/key} on a mount, then waits for the whole object in S3. CPU: this JVM (the
   * S3 server, and s3cache when it is the target), dd, and the peer's process if {@code pid > 0}.
   */
  private Row throughMount(Path root, String key, long pid, ObjectCheck s3) throws Exception {
    prepare();
    ExecutorService poller = Executors.newSingleThreadExecutor();
    try {
      double cpu = CpuTime.self() + (pid > 0 ? CpuTime.seconds(pid) : 0);
      long start = System.nanoTime();
      // polled from the start: s3cache has the object in S3 before close returns (it fills its
      // cache after the upload), rclone only after
      Future<Long> inS3 = poller.submit(() -> s3.awaitSize(key, options.size(), UPLOAD_TIMEOUT_SECONDS));
      dd(source, root.resolve(key), -1);
      long closed = System.nanoTime();
      long complete = inS3.get();
      double used = CpuTime.self() + (pid > 0 ? CpuTime.seconds(pid) : 0) - cpu;
      Row r = row(start, closed, complete, used, verify(s3, key));
      s3.delete(key);
      return r;
    } finally {
      poller.shutdownNow();
    }
  }

  private Row row(long start, long closed, long complete, double cpu, String check) {
    Row r = new Row(options.size(), (closed - start) / 1e9, (complete - start) / 1e9, cpu, check);
    out.printf(Locale.ROOT, "  close returned after %.2f s, whole object in S3 after %.2f s: %.0f MB/s, %.1f CPU s, %s%n",
        r.closeSeconds(), r.inS3Seconds(), r.mbPerSecond(), r.cpuSeconds(), r.check());
    return r;
  }

  /** Reads the object back from the server; a wrong or short object fails the whole run. */
  private String verify(ObjectCheck s3, String key) throws IOException {
    String sha = s3.sha256(key);
    if (!sha.equals(sourceSha)) {
      throw new IOException("s3://" + BUCKET + "/" + key + " has SHA-256 " + sha + ", the file written has " + sourceSha);
    }
    return "size + SHA-256";
  }

  /** Writes dirty pages back and empties the page cache, then reads the source into it again. */
  private void prepare() throws IOException {
    PageCache.drop();
    try (FileChannel ch = FileChannel.open(source)) {
      ByteBuffer buf = ByteBuffer.allocateDirect(4 << 20);
      while (ch.read(buf.clear()) >= 0) {
        // only to bring the pages in
      }
    }
  }

  /** {@code dd if=src of=dst bs=CHUNK conv=fsync} in its own process; {@code bytes < 0}: all of src. */
  private void dd(Path src, Path dst, long bytes) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("dd", "if=" + src, "of=" + dst, "bs=" + options.chunk(), "conv=fsync",
        "status=none"));
    if (bytes >= 0) {
      cmd.add("iflag=count_bytes");
      cmd.add("count=" + bytes);
    }
    Commands.check(cmd);
  }

  /** Writes {@code size} pseudo-random bytes and fsyncs them; returns their SHA-256. */
  static String generate(Path file, long size) throws IOException {
    MessageDigest md = ObjectCheck.newDigest();
    SplittableRandom random = new SplittableRandom(42);
    ByteBuffer buf = ByteBuffer.allocate(4 << 20);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      for (long left = size; left > 0; ) {
        buf.clear();
        while (buf.remaining() >= 8) {
          buf.putLong(random.nextLong());
        }
        buf.flip().limit((int) Math.min(buf.limit(), left));
        md.update(buf.array(), 0, buf.limit());
        left -= buf.remaining();
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
      }
      ch.force(true);
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private void report() {
    Row local = rows.get("local disk");
    Row endpoint = rows.get(ENDPOINT);
    out.println();
    out.printf(Locale.ROOT, "One %d MiB checkpoint written with dd bs=%d KiB conv=fsync (source in the page cache);%n",
        options.size() >> 20, options.chunk() >> 10);
    out.println("close s: dd's open to close returned; in S3 s: to the first HEAD (polled every 100 ms from the start)"
        + " that shows the whole object.");
    out.println("MB/s = size / the later of the two (local disk: until close). CPU s: this JVM (S3 server, s3cache),"
        + " dd and the peer's process.");
    out.println();
    out.printf(Locale.ROOT, "| %-34s | %8s | %8s | %6s | %9s | %11s | %6s | %-14s |%n", "target", "close s", "in S3 s",
        "MB/s", "vs local", "vs endpoint", "CPU s", "checked");
    out.println("|------------------------------------|----------|----------|--------|-----------|-------------|--------|----------------|");
    for (var e : rows.entrySet()) {
      Row r = e.getValue();
      out.printf(Locale.ROOT, "| %-34s | %8.2f | %8.2f | %6.0f | %8.2fx | %10.2fx | %6.1f | %-14s |%n", e.getKey(),
          r.closeSeconds(), r.inS3Seconds(), r.mbPerSecond(), r.mbPerSecond() / local.mbPerSecond(),
          r.mbPerSecond() / endpoint.mbPerSecond(), r.cpuSeconds(), r.check());
    }
    Row ours = rows.get("s3cache");
    out.println();
    StringBuilder ratios = new StringBuilder("s3cache:");
    for (String other : List.of("s3fs", "rclone", "local disk", ENDPOINT)) {
      Row r = rows.get(other);
      if (r != null) {
        ratios.append(String.format(Locale.ROOT, " %.2fx %s,", ours.mbPerSecond() / r.mbPerSecond(),
            other.startsWith("endpoint") ? "the endpoint" : other));
      }
    }
    out.println(ratios.substring(0, ratios.length() - 1));
    out.printf(Locale.ROOT, "s3cache: %.2f s writing the staged file through FUSE (%d parts going up meanwhile), %.2f s"
        + " at close (the rest of the upload: its %s timer),"
        + " whole in S3 at %.2f s, close returned %.2f s after that (the block cache is filled after close, in the"
        + " background)%n",
        ours.inS3Seconds() - s3cacheUpload, partsWhileWriting, s3cacheUpload, MetricNames.UPLOADS, ours.inS3Seconds(),
        ours.closeSeconds() - ours.inS3Seconds());
  }


}
