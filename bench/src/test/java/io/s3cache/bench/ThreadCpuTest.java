package io.s3cache.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class ThreadCpuTest {

  private static final long SELF = ProcessHandle.current().pid();

  /** Burns at least {@code nanos} of its own CPU (measured, not slept), then waits for {@code release}. */
  private static Thread burner(String name, long nanos, CountDownLatch burned, CountDownLatch release) {
    return new Thread(() -> {
      ThreadMXBean mx = ManagementFactory.getThreadMXBean();
      long x = 0;
      while (mx.getCurrentThreadCpuTime() < nanos) {
        for (int i = 0; i < 100_000; i++) {
          x += i * 31L ^ x;
        }
      }
      sink = x; // keeps the loop from being removed
      burned.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, name);
  }

  private static volatile long sink;

  @Test
  void countsOnlyTheThreadsWhoseNamesAreSelected() throws Exception {
    CountDownLatch burned = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Thread busy = burner("fault-proxy-busy", 300_000_000L, burned, release);
    busy.start();
    try {
      burned.await();
      // /proc counts in 10 ms ticks: 300 ms of CPU reads as at least 0.29 s.
      assertTrue(ThreadCpu.seconds(SELF, ThreadCpu::proxy) >= 0.29);
      assertEquals(0.0, ThreadCpu.seconds(SELF, n -> n.equals("no-such-thread")));
    } finally {
      release.countDown();
      busy.join();
    }
  }

  @Test
  void samplerKeepsTheCpuOfThreadsThatEndedWhileItRan() throws Exception {
    try (ThreadCpu.Sampler sampler = new ThreadCpu.Sampler(SELF)) {
      CountDownLatch done = new CountDownLatch(0);
      Thread t = burner("s3cache-fill-t", 400_000_000L, new CountDownLatch(1), done);
      t.start();
      t.join();
      sampler.close();
      Map<String, Double> groups = sampler.groups(ThreadCpu::daemonGroup);
      assertTrue(groups.getOrDefault("fills (HTTP GET)", 0.0) > 0, "an ended fill thread still counts: " + groups);
    }
  }

  @Test
  void groupsTheDaemonsThreadsByRole() {
    assertEquals("JIT", ThreadCpu.daemonGroup("C2 CompilerThre"));
    assertEquals("GC", ThreadCpu.daemonGroup("GC Thread#0"));
    assertEquals("GC", ThreadCpu.daemonGroup("G1 Refine#0"));
    assertEquals("preload workers (disk writes)", ThreadCpu.daemonGroup("preload-fetch-1"));
    assertEquals("disk writer", ThreadCpu.daemonGroup("disk-tier-write"));
    assertEquals("control", ThreadCpu.daemonGroup("s3cache-control"));
    assertEquals("other", ThreadCpu.daemonGroup("main"));
  }
}
