package io.s3cache.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;

/**
 * {@code s3cache bench-client}: the SDK's HTTP clients ({@link BenchClients}) compared on the two
 * request shapes the daemon makes, against S3Proxy in a process of its own (no added latency):
 * 8-way ranged GETs of 8 MiB blocks of one large object (cache fills and read-ahead), and 32-way
 * GETs of whole 100 KiB objects (preload and plan prefetch of small files), every GET with {@code
 * If-Match}. Each client is built once; a first pass per client (JIT cold for its own code) is
 * reported apart, then {@code rounds} passes per client interleaved, in an order rotated each
 * round, of which the median is reported. CPU is this JVM's (all its threads, GC and JIT included,
 * from /proc) and the server process's, per GiB or per 1000 GETs: on a loaded machine the CPU cost
 * is the robust figure, the rate is not.
 */
public final class ClientBenchmark {

  /** The clients it can compare. */
  public static final List<String> CLIENTS = BenchClients.NAMES;

  private static final String BUCKET = "bench-client";
  private static final int BLOCK = 8 << 20;
  private static final int SMALL = 100 << 10;
  private static final int BLOCK_WORKERS = 8;
  private static final int SMALL_WORKERS = 32;

  /**
   * @param blocks 8 MiB blocks in the large object (one pass reads each once)
   * @param smallObjects 100 KiB objects (one pass reads each once)
   */
  public record Options(Path workDir, List<String> clients, int rounds, int blocks, int smallObjects, boolean keep) {}

  /** One pass of one client over one shape. */
  private record Pass(String client, String shape, int round, long nanos, long bytes, long gets, double cpu,
      double serverCpu, long failures, String firstFailure) {
    double mbPerSecond() {
      return bytes / 1e6 / (nanos / 1e9);
    }

    double getsPerSecond() {
      return gets / (nanos / 1e9);
    }

    /** CPU seconds per GiB (large) or per 1000 GETs (small). */
    double cpuPerUnit(double cpuSeconds) {
      return shape.equals("block") ? cpuSeconds / (bytes / (double) (1L << 30)) : cpuSeconds / (gets / 1000.0);
    }
  }

  private final Options o;
  private final PrintStream out;

  public ClientBenchmark(Options o, PrintStream out) {
    this.o = o;
    this.out = out;
  }

  public void run() throws Exception {
    Path work = Files.createDirectories(o.workDir());
    Path data = work.resolve("server");
    BenchData.deleteTree(data);
    Files.createDirectories(data);
    List<Pass> passes = new ArrayList<>();
    try (ServerProcess server = ServerProcess.start(data, 0, work.resolve("server.log"))) {
      out.printf("uploading a %d MiB object and %d x 100 KiB objects ...%n", (long) o.blocks() * BLOCK >> 20,
          o.smallObjects());
      server.client().createBucket(b -> b.bucket(BUCKET));
      String bigEtag = uploadBig(server, work.resolve("big.bin"));
      List<String> smallEtags = uploadSmall(server);
      Map<String, BenchClients.Getter> getters = new LinkedHashMap<>();
      try {
        for (String name : o.clients()) {
          getters.put(name, BenchClients.create(name, server.endpoint(), BUCKET, 64, BLOCK));
        }
        for (int round = 0; round <= o.rounds(); round++) {
          List<String> order = new ArrayList<>(o.clients());
          java.util.Collections.rotate(order, -round);
          for (String name : order) {
            BenchClients.Getter g = getters.get(name);
            Pass block = blocks(name, round, g, bigEtag, server.pid());
            Pass small = smalls(name, round, g, smallEtags, server.pid());
            passes.add(block);
            passes.add(small);
            out.printf(Locale.ROOT, "  round %d %-8s 8 MiB: %7.0f MB/s %5.2f CPU-s/GiB (server %5.2f)%s | 100 KiB: "
                    + "%6.0f GET/s %5.2f CPU-s/1000 GETs (server %5.2f)%s%n",
                round, name, block.mbPerSecond(), block.cpuPerUnit(block.cpu()), block.cpuPerUnit(block.serverCpu()),
                failed(block), small.getsPerSecond(), small.cpuPerUnit(small.cpu()),
                small.cpuPerUnit(small.serverCpu()), failed(small));
          }
        }
      } finally {
        getters.values().forEach(BenchClients.Getter::close);
      }
    } finally {
      if (!o.keep()) {
        BenchData.deleteTree(work);
      }
    }
    report(passes);
  }

  private static String failed(Pass p) {
    return p.failures() == 0 ? "" : " FAILED " + p.failures() + "x: " + p.firstFailure();
  }

  private String uploadBig(ServerProcess server, Path file) throws IOException {
    SplittableRandom random = new SplittableRandom(14);
    byte[] chunk = new byte[1 << 20];
    try (OutputStream os = Files.newOutputStream(file)) {
      for (long i = 0; i < (long) o.blocks() * BLOCK; i += chunk.length) {
        random.nextBytes(chunk);
        os.write(chunk);
      }
    }
    try {
      return server.client().putObject(PutObjectRequest.builder().bucket(BUCKET).key("big").build(),
          RequestBody.fromFile(file)).eTag();
    } finally {
      Files.deleteIfExists(file);
    }
  }

  private List<String> uploadSmall(ServerProcess server) {
    SplittableRandom random = new SplittableRandom(15);
    List<String> etags = new ArrayList<>();
    byte[] body = new byte[SMALL];
    for (int i = 0; i < o.smallObjects(); i++) {
      random.nextBytes(body);
      etags.add(server.client().putObject(PutObjectRequest.builder().bucket(BUCKET).key(smallKey(i)).build(),
          RequestBody.fromBytes(body)).eTag());
    }
    return etags;
  }

  private static String smallKey(int i) {
    return String.format(Locale.ROOT, "small/%06d", i);
  }

  /** The large object once, 8 workers each taking the next 8 MiB block. */
  private Pass blocks(String name, int round, BenchClients.Getter g, String etag, long serverPid)
      throws InterruptedException {
    return pass(name, "block", round, BLOCK_WORKERS, BLOCK, o.blocks(), serverPid,
        (i, dst) -> g.get("big", etag, (long) i * BLOCK, dst));
  }

  /** Every small object once, whole (a range of its whole length, as the cache asks), 32 workers. */
  private Pass smalls(String name, int round, BenchClients.Getter g, List<String> etags, long serverPid)
      throws InterruptedException {
    return pass(name, "small", round, SMALL_WORKERS, SMALL, etags.size(), serverPid,
        (i, dst) -> g.get(smallKey(i), etags.get(i), 0, dst));
  }

  private interface Get {
    void get(int index, ByteBuffer dst) throws Exception;
  }

  private static Pass pass(String name, String shape, int round, int workers, int size, int count, long serverPid,
      Get get) throws InterruptedException {
    ByteBuffer[] buffers = new ByteBuffer[workers];
    for (int w = 0; w < workers; w++) {
      buffers[w] = ByteBuffer.allocateDirect(size);
    }
    AtomicInteger next = new AtomicInteger();
    AtomicLong bytes = new AtomicLong();
    AtomicLong failures = new AtomicLong();
    AtomicReference<String> firstFailure = new AtomicReference<>();
    CountDownLatch go = new CountDownLatch(1);
    List<Thread> threads = new ArrayList<>();
    for (int w = 0; w < workers; w++) {
      ByteBuffer dst = buffers[w];
      Thread t = new Thread(() -> {
        try {
          go.await();
          for (int i; (i = next.getAndIncrement()) < count; ) {
            dst.clear();
            try {
              get.get(i, dst);
              bytes.addAndGet(dst.position());
            } catch (Exception e) {
              failures.incrementAndGet();
              firstFailure.compareAndSet(null, e.toString());
            }
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, "bench-client-" + w);
      threads.add(t);
      t.start();
    }
    double cpu0 = CpuTime.self();
    double server0 = CpuTime.seconds(serverPid);
    long start = System.nanoTime();
    go.countDown();
    for (Thread t : threads) {
      t.join();
    }
    long nanos = System.nanoTime() - start;
    return new Pass(name, shape, round, nanos, bytes.get(), count - failures.get(), CpuTime.self() - cpu0,
        CpuTime.seconds(serverPid) - server0, failures.get(), firstFailure.get());
  }

  private void report(List<Pass> passes) {
    out.println();
    out.printf("HTTP clients, %d rounds after a first pass; median of the rounds (min-max); CPU: this JVM, all threads"
        + "%n", o.rounds());
    out.println("| client | 8 MiB GETs, 8-way: MB/s | CPU-s/GiB | server CPU-s/GiB | first pass MB/s, CPU-s/GiB "
        + "| 100 KiB GETs, 32-way: GET/s | CPU-s/1000 GETs | server CPU-s/1000 GETs | first pass GET/s, CPU-s/1000 "
        + "| failed GETs |");
    out.println("|---|---|---|---|---|---|---|---|---|---|");
    for (String name : o.clients()) {
      List<Pass> block = select(passes, name, "block", false);
      List<Pass> small = select(passes, name, "small", false);
      Pass firstBlock = select(passes, name, "block", true).get(0);
      Pass firstSmall = select(passes, name, "small", true).get(0);
      long failures = passes.stream().filter(p -> p.client().equals(name)).mapToLong(Pass::failures).sum();
      String why = passes.stream().filter(p -> p.client().equals(name) && p.firstFailure() != null)
          .map(Pass::firstFailure).findFirst().map(s -> " (" + s + ")").orElse("");
      out.printf(Locale.ROOT, "| %s | %s | %s | %s | %.0f, %.2f | %s | %s | %s | %.0f, %.2f | %d%s |%n", name,
          median(block, Pass::mbPerSecond, "%.0f"), median(block, p -> p.cpuPerUnit(p.cpu()), "%.2f"),
          median(block, p -> p.cpuPerUnit(p.serverCpu()), "%.2f"),
          firstBlock.mbPerSecond(), firstBlock.cpuPerUnit(firstBlock.cpu()),
          median(small, Pass::getsPerSecond, "%.0f"), median(small, p -> p.cpuPerUnit(p.cpu()), "%.2f"),
          median(small, p -> p.cpuPerUnit(p.serverCpu()), "%.2f"),
          firstSmall.getsPerSecond(), firstSmall.cpuPerUnit(firstSmall.cpu()), failures, why);
    }
  }

  private static List<Pass> select(List<Pass> passes, String client, String shape, boolean first) {
    return passes.stream()
        .filter(p -> p.client().equals(client) && p.shape().equals(shape) && (p.round() == 0) == first).toList();
  }

  private static String median(List<Pass> passes, java.util.function.ToDoubleFunction<Pass> f, String format) {
    if (passes.isEmpty()) {
      return "–";
    }
    double[] v = passes.stream().mapToDouble(f).sorted().toArray();
    double m = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    return String.format(Locale.ROOT, format + " (" + format + "–" + format + ")", m, v[0], v[v.length - 1]);
  }
}
