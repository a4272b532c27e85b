package io.s3cache.fuse;

import java.util.function.ToIntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs every FUSE operation the same way: times it, tells the {@link OperationObserver}, logs slow
 * calls and failures at the level the failure asks for, and maps exceptions to a negative errno.
 * This is the one place an exception is turned into an errno, and the one place that stops any
 * exception from unwinding into native code. It never clears a thread's interrupt flag, and sets it
 * again when it swallows an {@link InterruptedException}.
 */
final class OperationRunner {

  private static final Logger LOG = LoggerFactory.getLogger(OperationRunner.class);

  /** An operation body: returns a non-negative result or throws. */
  @FunctionalInterface
  interface Body {
    int run() throws FsException;
  }

  private final OperationObserver observer;
  private final ToIntFunction<Errno> errnoValues;
  private final long slowNanos;

  OperationRunner(OperationObserver observer, ToIntFunction<Errno> errnoValues, long slowNanos) {
    this.observer = observer;
    this.errnoValues = errnoValues;
    this.slowNanos = slowNanos;
  }

  /** {@code path} is printed (toString) only when a line is logged. */
  int call(String op, Object path, Body body) {
    long start = System.nanoTime();
    try {
      int result = body.run();
      long nanos = System.nanoTime() - start;
      observer.succeeded(op, nanos);
      if (nanos > slowNanos) {
        LOG.info("slow {} {}: {} ms", op, path, nanos / 1_000_000);
      }
      return result;
    } catch (FsException e) {
      observer.failed(op, e.errno(), System.nanoTime() - start);
      switch (e.level()) {
        case ERROR -> LOG.error("{} {} failed with {}: {}", op, path, e.errno(), e.getMessage(), e.getCause());
        case WARN -> LOG.warn("{} {} failed with {}: {}", op, path, e.errno(), e.getMessage());
        case INFO -> LOG.info("{} refused with {}: {}", op, e.errno(), e.getMessage());
        default -> LOG.debug("{} {}: {} ({})", op, path, e.errno(), e.getMessage());
      }
      return -errnoValues.applyAsInt(e.errno());
    } catch (Throwable t) { // never let anything unwind into libfuse's thread
      if (t instanceof InterruptedException) {
        Thread.currentThread().interrupt(); // swallowed here, so keep the thread's flag
      }
      observer.failed(op, Errno.EIO, System.nanoTime() - start);
      LOG.error("{} {} failed unexpectedly", op, path, t);
      return -errnoValues.applyAsInt(Errno.EIO);
    }
  }
}
