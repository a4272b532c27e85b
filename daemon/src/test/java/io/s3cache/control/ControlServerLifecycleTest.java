package io.s3cache.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The socket file, who may connect, start over leftovers, and what close() leaves behind. */
class ControlServerLifecycleTest {

  @TempDir Path dir;
  private final FakeControlApi api = new FakeControlApi();

  @Test
  void socketIsOwnerOnlyAndParentIsCreated() throws Exception {
    Path socket = dir.resolve("run/s3cache/s3cache.sock");
    try (ControlServer server = ControlServer.start(api, ControlServerConfig.unixSocket(socket))) {
      assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(socket));
      assertEquals(PosixFilePermissions.fromString("rwx------"), Files.getPosixFilePermissions(socket.getParent()));
    }
  }

  @Test
  void anotherUidIsRefused() throws Exception {
    assumeTrue(ControlServer.effectiveUid() == 0, "needs root to run curl as another uid");
    assumeTrue(onPath("setpriv") && onPath("curl"), "needs setpriv and curl");
    Path socket = dir.resolve("s3cache.sock");
    try (ControlServer server = ControlServer.start(api, ControlServerConfig.unixSocket(socket))) {
      // Open the file and its directory to everyone, so only the peer check stands in the way.
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
      Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
      List<String> curl = List.of("curl", "-s", "-o", "/dev/stdout", "-w", "%{http_code}",
          "--unix-socket", socket.toString(), "http://localhost/health");
      List<String> asNobody = new ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"));
      asNobody.addAll(curl);
      String refused = run(asNobody);
      assertTrue(refused.endsWith("403"), refused);
      // As nobody, curl cannot reopen the test's stdout pipe for -o /dev/stdout; read the body with -o -.
      List<String> withBody = new ArrayList<>(asNobody);
      withBody.set(withBody.indexOf("/dev/stdout"), "-");
      String body = run(withBody);
      assertTrue(body.contains("permission denied: uid 65534 may not control this s3cache daemon"), body);
      String allowed = run(curl);
      assertTrue(allowed.endsWith("200"), allowed);
      assertEquals(List.of("health"), api.calls);
    }
  }

  @Test
  void secondServerOnALiveSocketFails() throws Exception {
    Path socket = dir.resolve("s3cache.sock");
    try (ControlServer first = ControlServer.start(api, ControlServerConfig.unixSocket(socket))) {
      IOException e = assertThrows(IOException.class,
          () -> ControlServer.start(new FakeControlApi(), ControlServerConfig.unixSocket(socket)));
      assertEquals("another s3cache daemon already answers on " + socket
          + "; stop it first (s3cache shutdown) or give this one another control socket", e.getMessage());
      assertTrue(ControlClient.isAlive(socket), "the first server must keep its socket");
    }
  }

  @Test
  void stalePlainFileIsReplaced() throws Exception {
    Path socket = dir.resolve("s3cache.sock");
    Files.writeString(socket, "left behind");
    try (ControlServer server = ControlServer.start(api, ControlServerConfig.unixSocket(socket));
        ControlClient client = ControlClient.connect(socket)) {
      assertEquals("ok", client.health().status());
    }
  }

  @Test
  void staleSocketWithoutListenerIsReplaced() throws Exception {
    Path socket = dir.resolve("s3cache.sock");
    // The JDK leaves the socket file behind on close, like a daemon that was killed.
    try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      dead.bind(UnixDomainSocketAddress.of(socket));
    }
    assertTrue(Files.exists(socket));
    assertFalse(ControlClient.isAlive(socket));
    try (ControlServer server = ControlServer.start(api, ControlServerConfig.unixSocket(socket));
        ControlClient client = ControlClient.connect(socket)) {
      assertEquals("ok", client.health().status());
    }
  }

  @Test
  void connectWithNothingListeningSaysSo() {
    Path socket = dir.resolve("absent.sock");
    IOException e = assertThrows(IOException.class, () -> ControlClient.connect(socket));
    assertTrue(e.getMessage().startsWith("no s3cache daemon answers on " + socket), e.getMessage());
  }

  @Test
  void closeRemovesTheSocketAndLeavesNoThreads() throws Exception {
    Set<Thread> before = Thread.getAllStackTraces().keySet();
    Path socket = dir.resolve("s3cache.sock");
    ControlServer server = ControlServer.start(api, ControlServerConfig.unixSocket(socket));
    try (ControlClient client = ControlClient.connect(socket)) {
      client.health();
      client.preload(new PreloadRequest(List.of("/mnt/a"), 1, null, null, false), p -> {});
      client.shutdown();
      api.shutdownCalled.get(10, TimeUnit.SECONDS);
    }
    server.close();
    assertFalse(Files.exists(socket), "socket file left behind");
    List<String> leaked = new ArrayList<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (!before.contains(t) && !t.isDaemon()) {
        t.join(10_000); // event loops finish exiting just after their termination future completes
        if (t.isAlive()) {
          leaked.add(t.getName());
        }
      }
    }
    assertEquals(List.of(), leaked);
    server.close(); // idempotent
  }

  private static boolean onPath(String command) {
    for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (Files.isExecutable(Path.of(d, command))) {
        return true;
      }
    }
    return false;
  }

  private static String run(List<String> command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    return out;
  }
}
