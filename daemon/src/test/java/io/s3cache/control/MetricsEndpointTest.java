package io.s3cache.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.Gauge;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** GET /metrics renders the Dropwizard registry as Prometheus text 0.0.4. */
class MetricsEndpointTest {

  @TempDir Path dir;

  @Test
  void counterTimerAndGaugeAppearAsValidPrometheusText() throws Exception {
    FakeControlApi api = new FakeControlApi();
    api.registry.counter("s3cache.test.requests").inc(3);
    api.registry.timer("s3cache.test.latency").update(5, TimeUnit.MILLISECONDS);
    api.registry.register("s3cache.test.open_files", (Gauge<Integer>) () -> 7);
    Path socket = dir.resolve("s.sock");
    try (ControlServer server = ControlServer.start(api, ControlServerConfig.unixSocket(socket));
        ControlClient client = ControlClient.connect(socket)) {
      String text = client.metricsText();
      Map<String, Double> samples = PrometheusText.parse(text);
      assertEquals((Double) 3.0, samples.get("s3cache_test_requests"), text);
      assertEquals((Double) 7.0, samples.get("s3cache_test_open_files"), text);
      assertEquals((Double) 1.0, samples.get("s3cache_test_latency_count"), text);
      assertEquals((Double) 0.005, samples.get("s3cache_test_latency{quantile=\"0.5\"}"), text);
      assertTrue(text.contains("# TYPE s3cache_test_latency summary\n"), text);
      // Each mount's S3 requests by kind, HEAD and LIST included.
      assertEquals((Double) 5.0, samples.get("s3cache_mount_s3_requests_total{mount=\"/mnt/a\",kind=\"get\"}"), text);
      assertEquals((Double) 1.0, samples.get("s3cache_mount_s3_requests_total{mount=\"/mnt/a\",kind=\"head\"}"), text);
      assertEquals((Double) 2.0, samples.get("s3cache_mount_s3_requests_total{mount=\"/mnt/a\",kind=\"list\"}"), text);

      RawHttp.Response raw = RawHttp.send(socket, "GET", "/metrics", null);
      assertEquals("text/plain; version=0.0.4; charset=utf-8", raw.header("Content-Type"));
    }
  }

  @Test
  void validatorRejectsMalformedLines() {
    String good = "# HELP a_b help text\n# TYPE a_b gauge\na_b{x=\"1\",y=\"q\\\"\"} 1.5e3\n";
    assertEquals(Map.of("a_b{x=\"1\",y=\"q\\\"\"}", 1500.0), PrometheusText.parse(good));
    for (String bad : new String[] {
        "# TYPE a gauge\na 1\n", // TYPE without HELP
        "# HELP a h\n# TYPE a gauge\nb 1\n", // sample of another family
        "# HELP a h\n# TYPE a gauge\na one\n", // value not a float
        "# HELP a h\n# TYPE a gauge\na{x=1} 1\n", // unquoted label
        "# HELP a h\n# TYPE a meter\na 1\n", // unknown type
        "# HELP a h\n# TYPE a gauge\na 1", // no final newline
    }) {
      try {
        PrometheusText.parse(bad);
      } catch (AssertionError expected) {
        continue;
      }
      throw new AssertionError("accepted: " + bad);
    }
  }
}
