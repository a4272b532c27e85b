package io.s3cache.control;

import io.prometheus.client.Collector;
import io.prometheus.client.CounterMetricFamily;
import io.s3cache.s3.RequestCounts;
import java.util.List;
import java.util.function.Supplier;

/**
 * {@code s3cache_mount_s3_requests_total{mount, kind}} at {@code GET /metrics}: each live mount's S3
 * requests by kind (the daemon-wide totals are the {@code s3_requests_*} timers' counts).
 */
final class MountRequestsCollector extends Collector {

  static final String NAME = "s3cache_mount_s3_requests";

  private final Supplier<List<MountInfo>> mounts;

  MountRequestsCollector(Supplier<List<MountInfo>> mounts) {
    this.mounts = mounts;
  }

  @Override
  public List<MetricFamilySamples> collect() {
    CounterMetricFamily family = new CounterMetricFamily(NAME,
        "S3 requests a mount has sent since it was mounted, by kind", List.of("mount", "kind"));
    for (MountInfo m : mounts.get()) {
      RequestCounts r = m.requests();
      add(family, m, "get", r.get());
      add(family, m, "head", r.head());
      add(family, m, "list", r.list());
      add(family, m, "put", r.put());
      add(family, m, "copy", r.copy());
      add(family, m, "delete", r.delete());
      add(family, m, "other", r.other());
    }
    return List.of(family);
  }

  private static void add(CounterMetricFamily family, MountInfo m, String kind, long value) {
    family.addMetric(List.of(m.mountPoint(), kind), value);
  }
}
