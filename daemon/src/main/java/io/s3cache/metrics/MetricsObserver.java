package io.s3cache.metrics;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.fuse.Errno;
import io.s3cache.fuse.OperationObserver;
import java.util.concurrent.TimeUnit;

/** Records every FUSE operation as a Timer "fuse.op.NAME" and failures as "fuse.errors.NAME". */
public final class MetricsObserver implements OperationObserver {

  private final MetricRegistry registry;

  public MetricsObserver(MetricRegistry registry) {
    this.registry = registry;
  }

  @Override
  public void succeeded(String op, long nanos) {
    registry.timer(MetricNames.FUSE_OP_PREFIX + op).update(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void failed(String op, Errno errno, long nanos) {
    registry.timer(MetricNames.FUSE_OP_PREFIX + op).update(nanos, TimeUnit.NANOSECONDS);
    registry.counter(MetricNames.FUSE_ERRORS_PREFIX + op).inc();
  }
}
