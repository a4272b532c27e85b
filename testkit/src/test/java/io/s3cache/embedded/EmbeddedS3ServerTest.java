package io.s3cache.embedded;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;

class EmbeddedS3ServerTest {

  @TempDir Path dataDir;

  @Test
  void ephemeralPortIsTheBoundPortAndServesObjectsFromTheDataDir() throws Exception {
    try (EmbeddedS3Server server = EmbeddedS3Server.start(dataDir)) {
      assertNotEquals(0, server.port());
      assertEquals("http://127.0.0.1:" + server.port(), server.endpoint().toString());
      server.createBucket("bkt");
      byte[] content = "hello".getBytes();
      server.client().putObject(r -> r.bucket("bkt").key("dir/x.txt"), RequestBody.fromBytes(content));
      assertArrayEquals(
          content, server.client().getObjectAsBytes(r -> r.bucket("bkt").key("dir/x.txt")).asByteArray());
      // Filesystem backend: the bucket is a directory and the object a file under it.
      assertArrayEquals(content, Files.readAllBytes(dataDir.resolve("bkt").resolve("dir").resolve("x.txt")));
    }
  }

  @Test
  void startsOnAGivenPort() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    try (EmbeddedS3Server server = EmbeddedS3Server.start(dataDir, port)) {
      assertEquals(port, server.port());
      server.createBucket("bkt");
      assertEquals(List.of("bkt"), server.client().listBuckets().buckets().stream().map(b -> b.name()).toList());
    }
  }

  @Test
  void closeStopsListeningAndLeavesNoServerThreads() throws Exception {
    Set<Thread> before = new HashSet<>(Thread.getAllStackTraces().keySet());
    EmbeddedS3Server server = EmbeddedS3Server.start(dataDir);
    server.createBucket("bkt");
    int port = server.port();
    server.close();

    assertThrows(ConnectException.class, () -> connect(port));
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (!before.contains(t)) {
        t.join(5_000); // Jetty's stop() has returned; stragglers only finish their last task
        assertTrue(!t.isAlive() || isJvmWide(t), "leaked thread " + t.getName());
      }
    }
  }

  /** Threads the SDK shares across every client for the life of the JVM. */
  private static boolean isJvmWide(Thread t) {
    return t.getName().startsWith("idle-connection-reaper");
  }

  private static void connect(int port) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
    }
  }
}
