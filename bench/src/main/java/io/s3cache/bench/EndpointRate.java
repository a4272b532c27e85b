package io.s3cache.bench;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.embedded.EmbeddedS3Server;
import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectClients;
import io.s3cache.s3.ObjectMeta;
import io.s3cache.s3.S3Config;
import io.s3cache.testing.data.PageCache;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the endpoint itself gives, without FUSE: a whole object read by 8 workers issuing 8 MiB
 * ranged GETs, by 8 curl processes (SigV4-signed) and by the GET client s3cache uses (get_client=direct), each after the
 * page cache is dropped (the server then reads its files from disk, as for every cold read).
 */
final class EndpointRate {

  private static final int PART = 8 << 20;

  private EndpointRate() {}

  /** 8 curl processes, each fetching its eighth of the object as serial 8 MiB ranged GETs on one connection. */
  static Measure.Result curl(URI endpoint, String bucket, String key, long size) throws IOException, InterruptedException {
    long parts = (size + PART - 1) / PART;
    List<Process> curls = new ArrayList<>();
    PageCache.drop();
    long start = System.nanoTime();
    try {
      for (int w = 0; w < 8; w++) {
        List<String> cmd = new ArrayList<>(List.of("curl"));
        boolean first = true;
        for (long p = w; p < parts; p += 8) {
          if (!first) {
            cmd.add("--next");
          }
          first = false;
          long from = p * PART;
          long to = Math.min(size, from + PART) - 1;
          cmd.addAll(List.of("-sSf", "-o", "/dev/null", "--aws-sigv4", "aws:amz:" + EmbeddedS3Server.REGION + ":s3",
              "--user", EmbeddedS3Server.ACCESS_KEY + ":" + EmbeddedS3Server.SECRET_KEY,
              "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
              "-H", "Range: bytes=" + from + "-" + to, endpoint + "/" + bucket + "/" + key));
        }
        if (!first) {
          curls.add(new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start());
        }
      }
      for (Process p : curls) {
        if (!p.waitFor(10, TimeUnit.MINUTES)) {
          p.destroyForcibly();
          throw new IOException("curl did not end within 10 minutes");
        }
        if (p.exitValue() != 0) {
          throw new IOException("curl failed (status " + p.exitValue() + ")");
        }
      }
    } finally {
      curls.forEach(Process::destroyForcibly);
    }
    return new Measure.Result(1, size, System.nanoTime() - start);
  }

  /** 8 threads of this JVM issuing 8 MiB ranged GETs (with If-Match) through s3cache's own GET client. */
  static Measure.Result sdk(URI endpoint, String bucket, String key) throws Exception {
    try (ObjectClient client = client(endpoint, bucket, 8)) {
      ObjectMeta meta = client.head(key);
      PageCache.drop();
      AtomicLong bytes = new AtomicLong();
      long start = System.nanoTime();
      ThreadLocal<ByteBuffer> buffers = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(PART));
      List<Callable<Void>> parts = new ArrayList<>();
      for (long off = 0; off < meta.size(); off += PART) {
        long offset = off;
        parts.add(() -> {
          ByteBuffer dst = buffers.get().clear().limit((int) Math.min(PART, meta.size() - offset));
          client.getRange(key, meta.etag(), offset, dst);
          bytes.addAndGet(dst.position());
          return null;
        });
      }
      inParallel(8, parts);
      return new Measure.Result(1, bytes.get(), System.nanoTime() - start);
    }
  }

  /**
   * The endpoint alone for small objects: {@code workers} threads of this JVM GET each of {@code
   * keys} whole (with If-Match) through the GET client s3cache uses, no daemon, no cache, no disk
   * write. Run twice, the first pass warming this JVM's JIT; the second pass's rate is returned, with
   * its CPU per GET of this JVM in {@code cpuMillisPerGet[0]}. What a preload or plan prefetch of the
   * same objects through the same endpoint could reach at most on this machine.
   */
  static Measure.Result smallGets(URI endpoint, String bucket, List<String> keys, int workers, double[] cpuMillisPerGet)
      throws Exception {
    try (ObjectClient client = client(endpoint, bucket, workers)) {
      java.util.Map<String, ObjectMeta> metas = new java.util.HashMap<>();
      for (String key : keys) {
        metas.put(key, client.head(key));
      }
      Measure.Result last = null;
      for (int pass = 0; pass < 2; pass++) {
        AtomicLong bytes = new AtomicLong();
        double cpu0 = CpuTime.self();
        long start = System.nanoTime();
        ThreadLocal<ByteBuffer> buffers = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(1 << 20));
        List<Callable<Void>> gets = new ArrayList<>();
        for (String key : keys) {
          ObjectMeta meta = metas.get(key);
          gets.add(() -> {
            ByteBuffer dst = buffers.get().clear().limit((int) meta.size());
            client.getRange(key, meta.etag(), 0, dst);
            bytes.addAndGet(dst.position());
            return null;
          });
        }
        inParallel(workers, gets);
        last = new Measure.Result(keys.size(), bytes.get(), System.nanoTime() - start);
        cpuMillisPerGet[0] = (CpuTime.self() - cpu0) * 1e3 / keys.size();
      }
      return last;
    }
  }

  /** s3cache's own object client (its default get_client) for {@code bucket} at {@code endpoint}, {@code connections} at most. */
  private static ObjectClient client(URI endpoint, String bucket, int connections) {
    S3Config s3 = S3Config.defaults().withEndpoint(endpoint).withPathStyle(true)
        .withChecksumMode(S3Config.ChecksumMode.WHEN_REQUIRED).withMaxConnections(connections);
    return ObjectClients.create(bucket, s3, new MetricRegistry(), EmbeddedS3Server.CREDENTIALS);
  }

  /** Runs every task on {@code workers} threads and waits for all; the first failure is thrown. */
  private static void inParallel(int workers, List<Callable<Void>> tasks) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(workers);
    try {
      for (Future<Void> f : pool.invokeAll(tasks)) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
