package io.s3cache.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.s3cache.config.ConfigException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TCP control listener (bearer token, no browser requests, allow_other never) and the read-only
 * metrics listener (issue 15 item 1: before, TCP had no authentication and /metrics was scraped
 * from the full control API).
 */
class TcpListenersTest {

  private static final String TOKEN = "0123456789abcdef-test-token";

  @TempDir Path dir;
  private final FakeControlApi api = new FakeControlApi();
  private final HttpClient http = HttpClient.newHttpClient();
  private ControlServer server;

  @BeforeEach
  void start() throws Exception {
    InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    server = ControlServer.start(api, new ControlServerConfig(dir.resolve("s.sock"), loopback,
        ControlToken.of(TOKEN), loopback));
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private HttpResponse<String> send(InetSocketAddress to, String method, String path, String body, String... headers)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + to.getPort() + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void tcpWithoutTheTokenIs401AndReachesNothing() throws Exception {
    InetSocketAddress tcp = server.tcpAddress();
    assertEquals(401, send(tcp, "GET", "/health", null).statusCode());
    assertEquals(401, send(tcp, "GET", "/mounts", null, "Authorization", "Bearer wrong-token-0123456789").statusCode());
    HttpResponse<String> mount = send(tcp, "POST", "/mounts", "{\"source\":\"s3://b\",\"mountPoint\":\"/etc/cron.d\"}",
        "Content-Type", "application/json");
    assertEquals(401, mount.statusCode());
    assertEquals("Bearer", mount.headers().firstValue("WWW-Authenticate").orElse(null));
    assertEquals(List.of(), api.calls);
  }

  @Test
  void tcpWithTheTokenWorks() throws Exception {
    HttpResponse<String> health = send(server.tcpAddress(), "GET", "/health", null, "Authorization", "Bearer " + TOKEN);
    assertEquals(200, health.statusCode(), health.body());
    try (ControlClient client = ControlClient.connect(URI.create("http://127.0.0.1:" + server.tcpAddress().getPort()),
        ControlToken.of(TOKEN), Duration.ofSeconds(10))) {
      client.mount(new MountRequest("s3://bucket", "/mnt/x", java.util.Map.of(), List.of()));
      client.shutdown(); // a POST without a body still declares JSON
    }
    // The daemon shuts down after the reply has gone out, on a thread of its own: wait for it (bounded).
    for (long end = System.nanoTime() + 10_000_000_000L; !api.calls.contains("shutdown"); Thread.sleep(10)) {
      assertTrue(System.nanoTime() < end, "shutdown not called within 10 s: " + api.calls);
    }
  }

  @Test
  void browserLikeRequestsAre403EvenWithTheToken() throws Exception {
    InetSocketAddress tcp = server.tcpAddress();
    String auth = "Bearer " + TOKEN;
    assertEquals(403, send(tcp, "GET", "/health", null, "Authorization", auth, "Origin", "http://evil.example")
        .statusCode());
    assertEquals(403, send(tcp, "POST", "/shutdown", "{}", "Authorization", auth, "Content-Type", "text/plain")
        .statusCode());
    assertEquals(403, send(tcp, "POST", "/evict", "{\"paths\":[\"/x\"]}", "Authorization", auth).statusCode());
    assertFalse(api.calls.contains("shutdown"));
  }

  @Test
  void allowOtherIsRefusedOverTcp() throws Exception {
    HttpResponse<String> r = send(server.tcpAddress(), "POST", "/mounts",
        "{\"source\":\"s3://bucket\",\"mountPoint\":\"/etc/cron.d\",\"settings\":{\"allow_other\":\"true\"}}",
        "Authorization", "Bearer " + TOKEN, "Content-Type", "application/json");
    assertEquals(403, r.statusCode(), r.body());
    assertTrue(r.body().contains("allow_other may be set only by root"), r.body());
    assertEquals(List.of(), api.calls);
  }

  @Test
  void metricsListenerAnswersOnlyGetMetricsAndHealth() throws Exception {
    InetSocketAddress m = server.metricsAddress();
    HttpResponse<String> metrics = send(m, "GET", "/metrics", null);
    assertEquals(200, metrics.statusCode());
    assertTrue(metrics.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
    assertEquals(200, send(m, "GET", "/health", null).statusCode());
    assertEquals(405, send(m, "POST", "/metrics", "{}", "Content-Type", "application/json").statusCode());
    assertEquals(404, send(m, "POST", "/shutdown", "{}", "Content-Type", "application/json").statusCode());
    assertEquals(404, send(m, "GET", "/mounts", null).statusCode());
    assertEquals(404, send(m, "GET", "/stats", null).statusCode());
    assertFalse(api.calls.contains("shutdown"));
  }

  @Test
  void tcpWithoutATokenDoesNotStart() {
    assertThrows(IllegalArgumentException.class, () -> new ControlServerConfig(dir.resolve("t.sock"),
        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), null, null));
  }

  @Test
  void tokenFileMustBeOwnerOnlyAndLongEnough() throws Exception {
    Path file = dir.resolve("token");
    Files.writeString(file, TOKEN + "\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    int uid = ControlServer.effectiveUid();
    assertTrue(ControlToken.readOwnerOnly(file, uid).matches("Bearer " + TOKEN));
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r-----"));
    ConfigException open = assertThrows(ConfigException.class, () -> ControlToken.readOwnerOnly(file, uid));
    assertEquals("control_token_file " + file + " is open to group or others; chmod 600 " + file, open.getMessage());
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    assertTrue(assertThrows(ConfigException.class, () -> ControlToken.readOwnerOnly(file, uid + 1)).getMessage()
        .contains("is owned by uid " + uid + ", not by the daemon's uid " + (uid + 1)));
    Files.writeString(file, "short");
    assertTrue(assertThrows(ConfigException.class, () -> ControlToken.readOwnerOnly(file, uid)).getMessage()
        .contains("at least 16"));
    assertTrue(assertThrows(ConfigException.class, () -> ControlToken.readOwnerOnly(dir.resolve("none"), uid))
        .getMessage().endsWith("does not exist"));
  }
}
