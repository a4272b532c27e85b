package io.s3cache.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A process's resident memory from {@code /proc/PID/status} ({@code VmRSS}), and a sampler that
 * keeps its peak while a read runs.
 */
final class ProcStatus {

  private ProcStatus() {}

  /** VmRSS of {@code pid} in bytes; -1 if the process is gone. */
  static long rssBytes(long pid) {
    try {
      return parseRss(Files.readString(Path.of("/proc", Long.toString(pid), "status")));
    } catch (IOException e) {
      return -1;
    }
  }

  /** The {@code VmRSS:  123456 kB} line of a status file, in bytes; -1 if absent. */
  static long parseRss(String status) {
    for (String line : status.split("\n")) {
      if (line.startsWith("VmRSS:")) {
        String[] f = line.substring(6).trim().split("\\s+");
        long kb = Long.parseLong(f[0]);
        return kb * 1024;
      }
    }
    return -1;
  }

  /** Samples {@code pid}'s RSS every 100 ms on a daemon thread until closed; {@link #peak()} is the most seen. */
  static final class PeakSampler implements AutoCloseable {
    private final AtomicLong peak = new AtomicLong(-1);
    private final Thread thread;
    private volatile boolean stop;

    PeakSampler(long pid) {
      thread = new Thread(() -> {
        while (!stop) {
          peak.accumulateAndGet(rssBytes(pid), Math::max);
          try {
            Thread.sleep(100); // another process: sampling is the only way to see its RSS
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "rss-sampler");
      thread.setDaemon(true);
      thread.start();
    }

    long peak() {
      return peak.get();
    }

    @Override
    public void close() throws InterruptedException {
      stop = true;
      thread.interrupt();
      thread.join();
    }
  }
}
