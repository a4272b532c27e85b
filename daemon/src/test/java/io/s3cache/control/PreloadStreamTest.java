package io.s3cache.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** POST /preload: the NDJSON stream, its errors, and cancellation when the client goes away. */
class PreloadStreamTest extends FakeServerFixture {

  private static final PreloadRequest REQUEST = new PreloadRequest(List.of("/mnt/a/train"), 16, null, null, false);

  @Test
  void streamsEveryReportInOrderAndReturnsTheFinalOne() throws Exception {
    api.preloadLines = 5;
    List<PreloadProgress> seen = new ArrayList<>();
    PreloadProgress last = client.preload(REQUEST, seen::add);
    List<PreloadProgress> expected = new ArrayList<>();
    for (int i = 1; i <= 5; i++) {
      expected.add(FakeControlApi.progress(i, 5, false));
    }
    expected.add(FakeControlApi.progress(5, 5, true));
    assertEquals(expected, seen);
    assertSame(seen.get(5), last);
    assertTrue(last.done());
    assertEquals(List.of("k/broken: 403 Forbidden"), last.failed());
    assertEquals(List.of("preload [/mnt/a/train] parallel=16"), api.calls);
  }

  @Test
  void wireFormatIsOneJsonObjectPerLine() throws Exception {
    api.preloadLines = 2;
    RawHttp.Response r = RawHttp.send(socket, "POST", "/preload", new String(ControlJson.write(REQUEST), "UTF-8"));
    assertEquals(200, r.status());
    assertEquals("application/x-ndjson", r.header("Content-Type"));
    assertEquals("chunked", r.header("Transfer-Encoding"));
    String[] lines = r.body().split("\n", -1);
    assertEquals(4, lines.length, r.body()); // 3 reports and the empty string after the last '\n'
    assertEquals("", lines[3]);
    assertEquals(
        "{\"phase\":\"fetching\",\"files\":2,\"bytes\":200,\"filesDone\":1,\"bytesDone\":100,"
            + "\"bytesFetched\":50,\"failed\":[],\"error\":null,\"done\":false}",
        lines[0]);
  }

  @Test
  void failureBeforeAnyReportIsAPlainErrorStatus() {
    api.failures.put("preload", ControlException.notFound("not a mounted path: /mnt/zzz"));
    List<PreloadProgress> seen = new ArrayList<>();
    ControlException e = assertThrows(ControlException.class, () -> client.preload(REQUEST, seen::add));
    assertEquals(404, e.status());
    assertEquals("not a mounted path: /mnt/zzz", e.getMessage());
    assertTrue(seen.isEmpty());
  }

  @Test
  void failureAfterReportsEndsTheStreamWithAnErrorReport() throws Exception {
    api.preloadLines = 2;
    api.preloadFailsAfterLines = new ControlException(507, "does not fit the disk cap");
    List<PreloadProgress> seen = new ArrayList<>();
    PreloadProgress last = client.preload(REQUEST, seen::add);
    assertEquals(3, seen.size());
    assertTrue(last.done());
    assertEquals("does not fit the disk cap", last.error());
    assertEquals(2, last.filesDone()); // the figures of the last report carried over
  }

  @Test
  void clientClosingMidStreamCancelsThePreload() throws Exception {
    api.preloadWaitsForCancel = true;
    try (SocketChannel channel = RawHttp.open(socket)) {
      RawHttp.write(channel, "POST", "/preload", new String(ControlJson.write(REQUEST), "UTF-8"), "");
      InputStream in = Channels.newInputStream(channel);
      assertTrue(RawHttp.line(in).startsWith("HTTP/1.1 200"));
      assertTrue(api.preloadWaiting.await(10, TimeUnit.SECONDS));
      assertFalse(api.preloadSawCancel.await(0, TimeUnit.SECONDS));
    }
    assertTrue(api.preloadSawCancel.await(10, TimeUnit.SECONDS), "sink.cancelled() never became true");
  }

  @Test
  void progressCallbackThrowingCancelsThePreload() throws Exception {
    api.preloadWaitsForCancel = true;
    RuntimeException stop = new IllegalStateException("user pressed ^C");
    RuntimeException thrown = assertThrows(RuntimeException.class, () -> client.preload(REQUEST, p -> {
      if (p.filesDone() == 3) { // the last line the fake sends before it waits: streaming is incremental
        throw stop;
      }
    }));
    assertSame(stop, thrown);
    assertTrue(api.preloadSawCancel.await(10, TimeUnit.SECONDS), "sink.cancelled() never became true");
  }
}
