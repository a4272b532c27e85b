package io.s3cache.testing;

import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.Executor;

/** An executor that runs tasks only when the test says so, on the test's thread. */
public final class ManualExecutor implements Executor {
  private final Queue<Runnable> tasks = new ArrayDeque<>();

  @Override
  public synchronized void execute(Runnable task) {
    tasks.add(task);
  }

  public synchronized int pending() {
    return tasks.size();
  }

  /** Runs the oldest queued task; false if none was queued. */
  public boolean runNext() {
    Runnable r = poll();
    if (r == null) {
      return false;
    }
    r.run();
    return true;
  }

  /** Runs every queued task (and any they queue) on the calling thread. */
  public void runAll() {
    while (runNext()) {
      // keep going
    }
  }

  private synchronized Runnable poll() {
    return tasks.poll();
  }
}
