package io.s3cache.bench;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * CPU time of a process's threads by name, from {@code /proc/PID/task/TID/stat} (the kernel's copy
 * of a Java thread's name, cut to 15 characters). It splits the S3 server process into its fault
 * proxy ({@code fault-proxy-N} threads) and S3Proxy (the rest), and the daemon into its pools.
 */
final class ThreadCpu {

  private ThreadCpu() {}

  /**
   * CPU seconds of the live threads of {@code pid} whose name {@code selects}; NaN if the process is
   * gone. Threads that ended are not counted: compare readings of threads that outlive them.
   */
  static double seconds(long pid, Predicate<String> selects) {
    double[] sum = {0};
    if (!forEachThread(pid, (tid, name, seconds) -> {
      if (selects.test(name)) {
        sum[0] += seconds;
      }
    })) {
      return Double.NaN;
    }
    return sum[0];
  }

  private interface ThreadVisitor {
    void visit(String tid, String name, double seconds);
  }

  private static boolean forEachThread(long pid, ThreadVisitor visitor) {
    try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
      for (Path task : tasks) {
        String stat;
        try {
          stat = Files.readString(task.resolve("stat"));
        } catch (IOException e) {
          continue; // the thread ended meanwhile
        }
        visitor.visit(task.getFileName().toString(), stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
            CpuTime.parseOwn(stat));
      }
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  static boolean proxy(String threadName) {
    return threadName.startsWith("fault-proxy");
  }

  /** HotSpot's JIT compiler threads ("C1 CompilerThre", "C2 CompilerThre"). */
  static boolean jit(String threadName) {
    return threadName.contains("CompilerThre");
  }

  /** HotSpot's G1 threads ("GC Thread#0", "G1 Conc#0", "G1 Refine#0", "G1 Main Marker", ...). */
  static boolean gc(String threadName) {
    return threadName.startsWith("GC Thread") || threadName.startsWith("G1 ");
  }

  /**
   * Reads a process's threads every 100 ms on a thread of its own until closed, keeping each
   * thread's last reading, so threads that end during the measurement (a pool's idle workers)
   * still count, up to their last reading. {@link #groups} then sums CPU since the sampler started
   * by a grouping of thread names.
   */
  static final class Sampler implements AutoCloseable {
    private final long pid;
    private final Map<String, String> names = new HashMap<>();
    private final Map<String, Double> first = new HashMap<>();
    private final Map<String, Double> last = new HashMap<>();
    private final Thread thread;
    private volatile boolean stop;

    Sampler(long pid) {
      this.pid = pid;
      sample(true);
      thread = new Thread(() -> {
        while (!stop) {
          sample(false);
          try {
            Thread.sleep(100);
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "thread-cpu-sampler");
      thread.setDaemon(true);
      thread.start();
    }

    private synchronized void sample(boolean atStart) {
      forEachThread(pid, (tid, name, seconds) -> {
        names.put(tid, name);
        if (atStart) {
          first.put(tid, seconds);
        }
        last.put(tid, seconds);
      });
    }

    /** CPU seconds since the start by group (insertion order of first appearance). */
    synchronized Map<String, Double> groups(Function<String, String> groupOf) {
      Map<String, Double> sums = new LinkedHashMap<>();
      last.forEach((tid, seconds) -> sums.merge(groupOf.apply(names.get(tid)),
          seconds - first.getOrDefault(tid, 0.0), Double::sum));
      return sums;
    }

    @Override
    public void close() throws InterruptedException {
      stop = true;
      thread.interrupt();
      thread.join();
      sample(false);
    }
  }

  /** The daemon's threads by role, for the per-GET CPU notes. */
  static String daemonGroup(String name) {
    if (jit(name)) {
      return "JIT";
    }
    if (gc(name)) {
      return "GC";
    }
    if (name.startsWith("s3cache-fill")) {
      return "fills (HTTP GET)";
    }
    if (name.startsWith("preload-fetch")) {
      return "preload workers (disk writes)";
    }
    if (name.startsWith("disk-tier-write")) {
      return "disk writer";
    }
    if (name.startsWith("prefetch-")) {
      return "prefetch";
    }
    if (name.startsWith("s3cache-contro") || name.startsWith("s3cache-preloa")) {
      return "control";
    }
    return "other";
  }
}
