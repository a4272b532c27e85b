package io.s3cache.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import io.s3cache.control.ControlClient;
import io.s3cache.control.ControlServer;
import io.s3cache.control.ControlServerConfig;
import io.s3cache.control.MountRequest;
import io.s3cache.daemon.Daemon;
import io.s3cache.embedded.EmbeddedS3Server;
import io.s3cache.fuse.MountTable;
import io.s3cache.mount.CacheRuntime;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Bad input to the control API, the CLI and the mount (odd keys in the bucket): each gets a clear
 * error or a documented mapping, and the daemon answers {@code GET /health} after each.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadInputTest {

  private static final Path S3CACHE = Path.of("..", "bin", "s3cache").toAbsolutePath().normalize();

  private Path dir;
  private EmbeddedS3Server server;
  private Daemon daemon;
  private ControlServer control;
  private Path socket;
  private Path mnt;

  record Response(int status, String body) {}

  @BeforeAll
  void start(@TempDir Path tempDir) throws Exception {
    dir = tempDir;
    server = EmbeddedS3Server.start(Files.createDirectories(dir.resolve("s3")));
    server.createBucket("bad");
    put("ok.txt", "fine");
    socket = dir.resolve("s3cache.sock");
    Settings settings = server.mountSettings(dir.resolve("cache")).set(SettingKey.RAM_CACHE, "16M")
        .set(SettingKey.DISK_CACHE, "64M").set(SettingKey.BLOCK_SIZE, "1M");
    MetricRegistry metrics = new MetricRegistry();
    daemon = new Daemon(settings, CacheRuntime.open(settings, metrics), metrics, server.credentials());
    control = ControlServer.start(daemon, ControlServerConfig.unixSocket(socket));
    mnt = Files.createDirectories(dir.resolve("mnt"));
    try (ControlClient c = ControlClient.connect(socket)) {
      c.mount(new MountRequest("s3://bad", mnt.toString(), Map.of("metadata_ttl", "0"), List.of()));
    }
  }

  @AfterAll
  void stop() throws Exception {
    try {
      if (control != null) {
        control.close();
      }
      if (daemon != null) {
        daemon.close();
      }
    } finally {
      if (MountTable.isMounted(mnt)) {
        new ProcessBuilder("fusermount", "-uz", mnt.toString()).start().waitFor();
      }
      server.close();
    }
  }

  private void put(String key, String content) {
    server.client().putObject(b -> b.bucket("bad").key(key), RequestBody.fromString(content));
  }

  /** The daemon still answers, and still serves its mount. */
  private void assertHealthy(String after) throws Exception {
    Response health = send("GET", "/health", null);
    assertEquals(200, health.status(), after + ": " + health.body());
    assertTrue(health.body().contains("\"status\":\"ok\""), after + ": " + health.body());
    assertEquals("fine", Files.readString(mnt.resolve("ok.txt")), after + ": the mount still reads");
  }

  private void assertClientError(Response r, String what) throws Exception {
    System.out.printf("%s -> %d %s%n", what, r.status(), r.body().length() > 200 ? r.body().substring(0, 200) + "..." : r.body());
    assertTrue(r.status() >= 400 && r.status() < 500, what + ": " + r.status() + " " + r.body());
    assertTrue(r.body().startsWith("{\"error\":\""), what + ": " + r.body());
    assertHealthy(what);
  }

  @Test
  void controlApiRejectsMalformedJsonHugePathsAndDotDotWithA4xx() throws Exception {
    assertClientError(send("POST", "/mounts", "{\"source\":\"s3://bad\",\"mountPoint\":"), "truncated JSON");
    assertClientError(send("POST", "/preload", "[1,2,3]"), "JSON of the wrong shape");
    assertClientError(send("POST", "/evict", "{\"paths\":[\"" + mnt + "\"]}garbage"), "trailing garbage");
    String huge = mnt + "/" + "x".repeat(1_000_000);
    assertClientError(send("POST", "/preload", "{\"paths\":[\"" + huge + "\"],\"parallel\":1,\"dryRun\":false}"), "1 MB path");
    assertClientError(send("POST", "/evict", "{\"paths\":[\"" + huge + huge + "\"]}"), "2 MB body");
    Response longLine = send("GET", "/stats?mount=" + "y".repeat(1_000_000), null);
    System.out.printf("1 MB query -> %d %s%n", longLine.status(), longLine.body());
    assertTrue(longLine.status() == 400 || longLine.status() == 414 || longLine.status() == -1,
        "1 MB request line: " + longLine.status() + " " + longLine.body());
    assertHealthy("1 MB request line");
    assertClientError(send("POST", "/preload", "{\"paths\":[\"" + mnt + "/../../etc/passwd\"],\"parallel\":1,\"dryRun\":false}"),
        "preload of a path with .. leaving the mount");
    assertClientError(send("POST", "/evict", "{\"paths\":[\"" + mnt + "/../" + mnt.getFileName() + "/../..\"]}"),
        "evict of a path with ..");
    Response dotDotKey = send("POST", "/evict", "{\"paths\":[\"s3://bad/../other\"]}");
    assertEquals(400, dotDotKey.status(), dotDotKey.body());
    assertClientError(dotDotKey, "s3 URL with ..");
    assertClientError(send("POST", "/preload", "{\"paths\":[\"s3://bad/a//b\"],\"parallel\":1,\"dryRun\":false}"),
        "s3 URL with //");
    Path inside = Files.createDirectories(dir.resolve("dotdot"));
    assertClientError(send("POST", "/mounts", "{\"source\":\"s3://bad\",\"mountPoint\":\"" + inside + "/../dotdot/../mnt\"}"),
        "mount point with .. naming a mounted directory");
    // A prefix is a key prefix, taken as given (SEMANTICS.md, "Paths and keys"): s3://bad/../x
    // mounts the keys under "../x/". Only "//" is refused in a prefix.
    Response dotDotSource = send("POST", "/mounts", "{\"source\":\"s3://bad/../x\",\"mountPoint\":\"" + inside + "\"}");
    assertEquals(200, dotDotSource.status(), dotDotSource.body());
    assertTrue(dotDotSource.body().contains("\"source\":\"s3://bad/../x/\""), dotDotSource.body());
    assertEquals(200, send("DELETE", "/mounts?path=" + inside, null).status());
    assertClientError(send("POST", "/mounts", "{\"source\":\"s3://bad/a//b\",\"mountPoint\":\"" + inside + "\"}"),
        "source with //");
    assertClientError(send("DELETE", "/mounts?path=" + "%ff%fe", null), "unmount of a non-UTF-8 path");
    assertFalse(MountTable.isMounted(inside), "nothing mounted by a refused request");
  }

  @Test
  void cliGivesOneLineAndANonZeroExitForBadPaths() throws Exception {
    String[][] cases = {
        {"preload", "--socket", socket.toString(), mnt + "/../../etc"},
        {"evict", "--socket", socket.toString(), mnt + "/" + "z".repeat(100_000)},
        {"evict", "--socket", socket.toString(), "s3://bad/a//../../b"},
    };
    for (String[] args : cases) {
      List<String> cmd = new ArrayList<>(List.of(S3CACHE.toString()));
      cmd.addAll(List.of(args));
      Path err = Files.createTempFile(dir, "err", ".txt");
      Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .redirectInput(new File("/dev/null")).start();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("s3cache " + args[0] + " did not finish");
      }
      String stderr = Files.readString(err).strip();
      String what = args[0] + " " + (args[3].length() > 80 ? args[3].substring(0, 80) + "..." : args[3]);
      System.out.printf("s3cache %s -> exit %d: %s%n", what, p.exitValue(),
          stderr.length() > 300 ? stderr.substring(0, 300) + "..." : stderr);
      assertTrue(p.exitValue() == 1 || p.exitValue() == 2, what + ": exit " + p.exitValue());
      assertFalse(stderr.isEmpty(), what + ": says why");
      assertFalse(stderr.contains("\tat "), what + ": no stack trace: " + stderr);
      assertHealthy(what);
    }
  }

  @Test
  void keysThatCannotBePathsAreHiddenOrRefusedByTheStoreAndTheBucketStaysReadable() throws Exception {
    put("dir/visible", "seen");
    List<String> stored = new ArrayList<>();
    for (String key : List.of("dbl//slash", "dir/../up", "dir/./here", "dir//x")) {
      try {
        put(key, "odd");
        stored.add(key);
      } catch (S3Exception e) {
        // S3Proxy (Jetty 12) normalizes the request path, so the SigV4 signature over the key as
        // sent no longer matches (403), or it rejects the path (400): it cannot hold these keys.
        System.out.printf("the store refused key '%s': %d %s%n", key, e.statusCode(), e.awsErrorDetails().errorCode());
      }
    }
    System.out.println("keys the store accepted: " + stored + "; it holds " + keys());
    // S3Proxy stores "dir/./here" as "dir/here" and "dir/../up" as "up": whatever it holds, a key
    // whose components are all names is a readable file, any other key is hidden.
    for (String key : keys()) {
      if (key.contains("\ufffd")) {
        continue; // the key that is not UTF-8, see below
      }
      boolean path = Stream.of(key.split("/", -1)).noneMatch(c -> c.isEmpty() || c.equals(".") || c.equals(".."));
      assertEquals(path, Files.isRegularFile(mnt.resolve(key.replace("//", "/_empty_/"))), key);
    }
    assertTrue(names(mnt).contains("dir"));
    assertTrue(names(mnt.resolve("dir")).contains("visible"));
    assertEquals("seen", Files.readString(mnt.resolve("dir/visible")));
    assertHealthy("odd keys");
  }

  /**
   * S3 keys are UTF-8; S3Proxy's filesystem backend keeps each object as a file, so a file whose
   * name is not UTF-8 is the way to make such a store list a key that is not valid UTF-8.
   */
  @Test
  void aKeyThatIsNotUtf8IsListedAsTheStoreDecodesItAndFailsCleanly() throws Exception {
    Path bucketDir = server.dataDir().resolve("bad");
    // Java cannot name a file with bytes that are not UTF-8 here (sun.jnu.encoding=UTF-8): use the shell.
    Process p = new ProcessBuilder("bash", "-c", "printf raw > \"$1\"/$'latin1-\\xe9t\\xe9'", "_", bucketDir.toString())
        .inheritIO().start();
    assertEquals(0, p.waitFor());
    List<String> listed = keys();
    System.out.println("store lists: " + listed);
    List<String> root = names(mnt);
    System.out.println("mount lists: " + root);
    String odd = root.stream().filter(n -> n.startsWith("latin1-")).findFirst().orElse(null);
    if (odd != null) {
      // Listed under the store's decoding (U+FFFD for each bad byte); reading it either works or
      // fails with an errno, never wrong bytes.
      try {
        assertEquals("raw", Files.readString(mnt.resolve(odd)));
      } catch (IOException e) {
        System.out.println("reading " + odd + ": " + e);
        // ENOENT: the decoded name is no key of the store (a GET of it is a 404); EIO: a store error.
        String message = String.valueOf(e.getMessage());
        assertTrue(e instanceof NoSuchFileException || message.contains("Input/output error")
            || message.contains("No such file or directory"), e.toString());
      }
    }
    assertHealthy("a key that is not UTF-8");
    assertThrows(NoSuchFileException.class, () -> Files.readString(mnt.resolve("latin1-\u00e9t\u00e9")),
        "the bytes are not taken as Latin-1");
  }

  private List<String> keys() {
    return server.client().listObjectsV2(b -> b.bucket("bad")).contents().stream().map(o -> o.key()).toList();
  }

  private static List<String> names(Path d) throws IOException {
    try (Stream<Path> s = Files.list(d)) {
      return s.map(x -> x.getFileName().toString()).sorted().toList();
    }
  }

  /** One HTTP/1.1 request over the control socket; status -1 when the server closed without answering. */
  private Response send(String method, String target, String body) throws IOException {
    byte[] bytes = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      String head = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
          + (body == null ? "" : "Content-Type: application/json\r\nContent-Length: " + bytes.length + "\r\n") + "\r\n";
      try {
        ch.write(ByteBuffer.wrap(head.getBytes(StandardCharsets.UTF_8)));
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
          ch.write(b);
        }
      } catch (IOException e) {
        // The server may answer (413, 400) and close before reading everything: read its answer.
      }
      InputStream in = Channels.newInputStream(ch);
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      try {
        in.transferTo(all);
      } catch (IOException e) {
        // reset after the answer
      }
      String text = all.toString(StandardCharsets.UTF_8);
      if (!text.startsWith("HTTP/1.1 ")) {
        return new Response(-1, text);
      }
      int status = Integer.parseInt(text.substring(9, 12));
      int split = text.indexOf("\r\n\r\n");
      String rest = split < 0 ? "" : text.substring(split + 4);
      if (text.substring(0, Math.max(0, split)).toLowerCase().contains("transfer-encoding: chunked")) {
        rest = rest.replaceAll("(?m)^[0-9a-fA-F]+\r\n", "").replace("\r\n", "");
      }
      return new Response(status, rest.strip());
    }
  }
}
