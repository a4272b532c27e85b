package io.s3cache.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Every route through ControlClient, and the error answers through hand-written requests. */
class ControlRoutesTest extends FakeServerFixture {

  @Test
  void healthRoundTrip() throws Exception {
    assertEquals(new Health("ok", 4242, "0.1.0-test", 1, 77), client.health());
    assertTrue(ControlClient.isAlive(socket));
  }

  @Test
  void mountsRoundTrip() throws Exception {
    assertEquals(List.of(FakeControlApi.MOUNT_A), client.mounts());
  }

  @Test
  void mountRoundTrip() throws Exception {
    MountInfo info = client.mount(
        new MountRequest("s3://bucket/data", "/mnt/data", Map.of("cache.ram_bytes", "1g"), List.of("_netdev")));
    assertEquals(new MountInfo("/mnt/data", "s3://bucket/data", "http://127.0.0.1:9000", 0), info);
    assertEquals(List.of("mount s3://bucket/data /mnt/data {cache.ram_bytes=1g} [_netdev]"), api.calls);
  }

  @Test
  void unmountUrlDecodesThePath() throws Exception {
    client.unmount("/mnt/my data/ü&x=+1");
    assertEquals(List.of("unmount /mnt/my data/ü&x=+1"), api.calls);
  }

  @Test
  void statsForTheDaemonAndForOneMount() throws Exception {
    StatsSnapshot all = client.stats(null);
    assertEquals(20.25, all.s3GetP99Millis());
    assertEquals(List.of(FakeControlApi.MOUNT_A), all.mounts());
    client.stats("/mnt/a");
    assertEquals(List.of("stats null", "stats /mnt/a"), api.calls);
  }

  @Test
  void evictRoundTrip() throws Exception {
    EvictResult result = client.evict(new EvictRequest(List.of("/mnt/a/x", "s3://bucket-a/y")));
    assertEquals(new EvictResult(2, 10, 10 << 20), result);
    assertEquals(List.of("evict [/mnt/a/x, s3://bucket-a/y]"), api.calls);
  }

  @Test
  void planRoutesByIdByMountAndWithTheSendersPid() throws Exception {
    PlanStatus sent = client.plan(new PlanRequest(4, List.of("/mnt/a/x"), null, null, null, "rank1", true, true));
    assertEquals("rank1", sent.name());
    assertEquals(ProcessHandle.current().pid(), sent.clientPid(), "the Unix socket's peer pid is this process");
    assertEquals("p7", client.planStatus("p7").id());
    assertEquals(1, client.plans(null).plans().size());
    client.plans("/mnt/a");
    assertEquals("ended", client.endPlan("p7").state());
    client.endPlans("/mnt/a", "rank1");
    assertEquals(List.of("plan 4 [/mnt/a/x] rank1 pid true", "planStatus p7", "plans null", "planStatus p1",
        "plans /mnt/a", "planStatus p1", "endPlan p7", "endPlans /mnt/a rank1", "endPlan p1"), api.calls);
    RawHttp.Response r = RawHttp.send(socket, "DELETE", "/plan", null);
    assertEquals(400, r.status());
    assertEquals("DELETE /plan needs ?id=PLAN or ?mount=/abs/path[&name=NAME]", r.error());
  }

  @Test
  void shutdownAnswersThenShutsDown() throws Exception {
    client.shutdown();
    api.shutdownCalled.get(10, TimeUnit.SECONDS);
  }

  @Test
  void controlExceptionsKeepTheirStatusAndMessage() {
    api.failures.put("unmount", ControlException.notFound("nothing of ours is mounted at /mnt/x"));
    api.failures.put("mount", ControlException.conflict("/mnt/a is already mounted"));
    api.failures.put("evict", ControlException.badRequest("not a mounted path: /etc"));
    ControlException notFound = assertThrows(ControlException.class, () -> client.unmount("/mnt/x"));
    assertEquals(404, notFound.status());
    assertEquals("nothing of ours is mounted at /mnt/x", notFound.getMessage());
    ControlException conflict = assertThrows(ControlException.class,
        () -> client.mount(new MountRequest("s3://b", "/mnt/a", null, null)));
    assertEquals(409, conflict.status());
    assertEquals("/mnt/a is already mounted", conflict.getMessage());
    ControlException bad = assertThrows(ControlException.class, () -> client.evict(new EvictRequest(List.of("/etc"))));
    assertEquals(400, bad.status());
    assertEquals("not a mounted path: /etc", bad.getMessage());
  }

  @Test
  void unexpectedExceptionIs500() {
    api.crash = new IllegalStateException("boom");
    ControlException e = assertThrows(ControlException.class, client::health);
    assertEquals(500, e.status());
    assertEquals("internal error: java.lang.IllegalStateException: boom", e.getMessage());
  }

  @Test
  void malformedJsonIs400NamingTheProblem() throws Exception {
    RawHttp.Response r = RawHttp.send(socket, "POST", "/mounts", "{\"source\": \"s3://b\", ");
    assertEquals(400, r.status());
    assertTrue(r.error().startsWith("malformed JSON at line 1"), r.error());
    assertOneLine(r.error());
    assertTrue(api.calls.isEmpty());
  }

  @Test
  void unknownPropertyIs400() throws Exception {
    RawHttp.Response r = RawHttp.send(socket, "POST", "/mounts",
        "{\"source\":\"s3://b\",\"mountPoint\":\"/mnt/x\",\"mountpoint\":\"/mnt/y\"}");
    assertEquals(400, r.status());
    assertTrue(r.error().startsWith("unknown property \"mountpoint\" in MountRequest; known: "), r.error());
    assertOneLine(r.error());
    assertTrue(api.calls.isEmpty());
  }

  @Test
  void wrongTypeIs400NamingTheField() throws Exception {
    RawHttp.Response r = RawHttp.send(socket, "POST", "/preload", "{\"paths\":[\"/mnt/a\"],\"parallel\":\"many\"}");
    assertEquals(400, r.status());
    assertTrue(r.error().startsWith("invalid PreloadRequest at \"parallel\": "), r.error());
    assertOneLine(r.error());
  }

  @Test
  void nullForANumberIs400() throws Exception {
    RawHttp.Response r = RawHttp.send(socket, "POST", "/preload", "{\"paths\":[\"/mnt/a\"],\"parallel\":null}");
    assertEquals(400, r.status());
    assertEquals("invalid PreloadRequest at \"parallel\": null is not allowed here", r.error());
  }

  @Test
  void emptyBodyIs400() throws Exception {
    RawHttp.Response r = RawHttp.send(socket, "POST", "/evict", "");
    assertEquals(400, r.status());
    assertEquals("request body is empty: expected a JSON EvictRequest", r.error());
  }

  @Test
  void missingQueryParameterIs400() throws Exception {
    RawHttp.Response r = RawHttp.send(socket, "DELETE", "/mounts", null);
    assertEquals(400, r.status());
    assertEquals("missing query parameter path", r.error());
  }

  @Test
  void wrongMethodIs405WithAllow() throws Exception {
    RawHttp.Response r = RawHttp.send(socket, "PUT", "/health", "{}");
    assertEquals(405, r.status());
    assertEquals("GET", r.header("Allow"));
    assertEquals("method PUT is not allowed on /health; use GET", r.error());
    assertEquals(405, RawHttp.send(socket, "GET", "/preload", null).status());
  }

  @Test
  void unknownPathIs404() throws Exception {
    RawHttp.Response r = RawHttp.send(socket, "GET", "/mounts/extra", null);
    assertEquals(404, r.status());
    assertEquals("no such endpoint: /mounts/extra", r.error());
    assertEquals(ControlRoutes.JSON, r.header("Content-Type"));
  }

  @Test
  void oversizedBodyIs413() throws Exception {
    // Only the head: the server answers from Content-Length without reading the body.
    try (var channel = RawHttp.open(socket)) {
      RawHttp.write(channel, "POST", "/mounts", null,
          "Content-Type: application/json\r\nContent-Length: " + (ControlHttpHandler.MAX_BODY_BYTES + 1) + "\r\n");
      RawHttp.Response r = RawHttp.read(java.nio.channels.Channels.newInputStream(channel));
      assertEquals(413, r.status());
      assertEquals("request body is larger than 1048576 bytes", r.error());
    }
  }

  @Test
  void aPlanMayListMorePathsThanOtherBodiesMayHold() throws Exception {
    StringBuilder json = new StringBuilder("{\"epoch\":1,\"paths\":[");
    for (int i = 0; i < 40_000; i++) { // about 1.5 MiB
      json.append(i == 0 ? "" : ",").append("\"/mnt/a/train/class_").append(i % 100).append("/img_").append(i).append(".jpg\"");
    }
    String body = json.append("]}").toString();
    assertTrue(body.length() > ControlHttpHandler.MAX_BODY_BYTES);
    assertEquals(200, RawHttp.send(socket, "POST", "/plan", body).status());
    assertTrue(api.calls.get(0).startsWith("plan 1 [/mnt/a/train/class_0/img_0.jpg, "), api.calls.get(0));
    // Other routes keep 1 MiB: oversizedBodyIs413 (sending such a body whole races the early 413).
    try (var channel = RawHttp.open(socket)) {
      RawHttp.write(channel, "POST", "/plan", null,
          "Content-Type: application/json\r\nContent-Length: " + (ControlHttpHandler.MAX_PATH_LIST_BYTES + 1) + "\r\n");
      RawHttp.Response r = RawHttp.read(java.nio.channels.Channels.newInputStream(channel));
      assertEquals(413, r.status());
      assertEquals("request body is larger than 134217728 bytes", r.error());
    }
  }

  @Test
  void everyAnswerClosesItsConnection() throws Exception {
    RawHttp.Response r = RawHttp.send(socket, "GET", "/health", null);
    assertEquals(200, r.status());
    assertEquals("close", r.header("Connection"));
    assertEquals("application/json; charset=utf-8", r.header("Content-Type"));
  }

  private static void assertOneLine(String message) {
    assertFalse(message.contains("\n"), message);
  }
}
