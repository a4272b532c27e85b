package io.s3cache.metrics;

import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import io.s3cache.fuse.Errno;
import io.s3cache.fuse.OperationObserver;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/** Records every FUSE operation as a Timer "fuse.op.NAME" and failures as "fuse.errors.NAME". */
public final class MetricsObserver implements OperationObserver {

  private final MetricRegistry registry;
  /**
   * Each op's timer by the op's name: a sequential read calls {@link #succeeded} per 128 KiB, and
   * the registry's own look-up would build and hash a new "fuse.op.read" String every time.
   */
  private final ConcurrentHashMap<String, Timer> timers = new ConcurrentHashMap<>();

  public MetricsObserver(MetricRegistry registry) {
    this.registry = registry;
  }

  @Override
  public void succeeded(String op, long nanos) {
    timer(op).update(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void failed(String op, Errno errno, long nanos) {
    timer(op).update(nanos, TimeUnit.NANOSECONDS);
    registry.counter(MetricNames.FUSE_ERRORS_PREFIX + op).inc();
  }

  private Timer timer(String op) {
    Timer t = timers.get(op);
    return t != null ? t : timers.computeIfAbsent(op, o -> registry.timer(MetricNames.FUSE_OP_PREFIX + o));
  }
}
