package io.s3cache.control;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The threads that run {@link ControlApi} calls, which block (a mount waits for the kernel, an
 * evict walks the cache) and so must stay off Netty's event loop:
 *
 * <ul>
 *   <li>{@code s3cache-control-N}: a small pool for ordinary requests; a full queue answers 503.
 *   <li>{@code s3cache-preload-N}: one thread per preload, which may run for hours.
 *   <li>{@code s3cache-control-shutdown}: runs {@link ControlApi#shutdown()} after POST /shutdown
 *       was answered; not waited for by {@link #close}, since it is usually what calls it.
 * </ul>
 */
final class ControlWorkers {

  private static final Logger log = LoggerFactory.getLogger(ControlWorkers.class);

  private final ThreadPoolExecutor requests;
  private final Set<Thread> own = ConcurrentHashMap.newKeySet();
  private final Set<Thread> preloads = ConcurrentHashMap.newKeySet();
  private final AtomicInteger requestIds = new AtomicInteger();
  private final AtomicInteger preloadIds = new AtomicInteger();
  private volatile boolean closed;

  ControlWorkers(int threads, int queued) {
    requests =
        new ThreadPoolExecutor(
            threads, threads, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(queued),
            task -> track(task, "s3cache-control-" + requestIds.incrementAndGet()));
    requests.allowCoreThreadTimeOut(true); // an idle daemon holds no control threads
  }

  /** Runs a request; throws {@link RejectedExecutionException} when busy or closed. */
  void execute(Runnable task) {
    requests.execute(task);
  }

  void startPreload(Runnable task) {
    if (closed) {
      throw new RejectedExecutionException("control server is closing");
    }
    Thread t = track(task, "s3cache-preload-" + preloadIds.incrementAndGet());
    preloads.add(t);
    t.start();
  }

  /** A thread that is not waited for on close (it may be the one calling close). */
  static void startDetached(String name, Runnable task) {
    Thread t = new Thread(task, name);
    t.setUncaughtExceptionHandler((th, e) -> log.error("{} failed", name, e));
    t.start();
  }

  /**
   * Stops taking work and waits for running requests and preloads; preloads see their connection
   * closed (the caller closes channels first), so they stop at their next progress check. Does not
   * wait for the calling thread itself.
   */
  void close(Duration wait) {
    closed = true;
    requests.shutdown();
    long deadline = System.nanoTime() + wait.toNanos();
    boolean self = own.contains(Thread.currentThread());
    try {
      if (!self && !requests.awaitTermination(wait.toMillis(), TimeUnit.MILLISECONDS)) {
        log.warn("control requests still running after {} s; interrupting them", wait.toSeconds());
        requests.shutdownNow();
      }
      for (Thread t : preloads) {
        if (t == Thread.currentThread()) {
          continue;
        }
        t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        if (t.isAlive()) {
          log.warn("{} did not stop after its client was disconnected; interrupting it", t.getName());
          t.interrupt();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      requests.shutdownNow();
    }
  }

  private Thread track(Runnable task, String name) {
    Thread[] holder = new Thread[1];
    Thread t =
        new Thread(
            () -> {
              try {
                task.run();
              } finally {
                own.remove(holder[0]);
                preloads.remove(holder[0]);
              }
            },
            name);
    holder[0] = t;
    t.setUncaughtExceptionHandler((th, e) -> log.error("{} failed", name, e));
    own.add(t);
    return t;
  }
}
