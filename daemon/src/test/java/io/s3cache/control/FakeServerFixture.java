package io.s3cache.control;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** A control server over a {@link FakeControlApi} on a fresh socket, and a client of it, per test. */
abstract class FakeServerFixture {

  @TempDir Path dir;
  Path socket;
  final FakeControlApi api = new FakeControlApi();
  ControlServer server;
  ControlClient client;

  @BeforeEach
  void start() throws Exception {
    socket = dir.resolve("s3cache.sock");
    server = ControlServer.start(api, ControlServerConfig.unixSocket(socket));
    client = ControlClient.connect(socket);
  }

  @AfterEach
  void stop() {
    client.close();
    server.close();
  }
}
