package io.s3cache.cache;

import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.Executor;

/** An executor that runs tasks only when the test says so. */
final class ManualExecutor implements Executor {
  private final Queue<Runnable> tasks = new ArrayDeque<>();

  @Override
  public synchronized void execute(Runnable task) {
    tasks.add(task);
  }

  synchronized int pending() {
    return tasks.size();
  }

  /** Runs every queued task (and any they queue) on the calling thread. */
  void runAll() {
    for (Runnable r; (r = poll()) != null; ) {
      r.run();
    }
  }

  private synchronized Runnable poll() {
    return tasks.poll();
  }
}
