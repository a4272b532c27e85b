package io.s3cache.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.metrics.MetricNames;
import io.s3cache.s3.ObjectClientException.Kind;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import javax.net.ServerSocketFactory;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

/**
 * Every test of {@link SdkObjectClientTest} with the read path's GETs made by {@link
 * DirectGetClient}, and what only it does: keys that need encoding signed as the SDK signs them,
 * the endpoint resolved by the SDK's rules, a retry that asks only for the missing bytes, a pooled
 * connection the server closed, chunked bodies, S3's error bodies, and HTTPS with host-name
 * verification. The scripted server is a plain socket that answers each request with the bytes a
 * test gives it.
 */
class DirectGetClientTest extends SdkObjectClientTest {

  @Override
  S3Config.GetClient getClient() {
    return S3Config.GetClient.DIRECT;
  }

  @Test
  void keysThatNeedEncodingAreSignedAsS3ExpectsThem() throws Exception {
    client();
    assertEquals(DirectGetClient.class, client.getClass());
    // (S3Proxy refuses even the SDK's own PUT of a key with "//", so none is here.)
    for (String key : List.of("with space/a+b=c&d.bin", "percent%20kept", "unicodé/ñ/日本.txt",
        "brackets[1](2)~!*'$,;@")) {
      byte[] content = key.getBytes(StandardCharsets.UTF_8);
      String etag = put(key, content);
      ByteBuffer dst = ByteBuffer.allocateDirect(content.length);
      client.getRange(key, etag, 0, dst);
      assertArrayEquals(content, Arrays.copyOf(bytes(dst), content.length), key);
    }
  }

  @Test
  void aWrongSecretIsRefusedCredentialsAndTold() {
    List<String> told = new ArrayList<>();
    S3Config config = config();
    client = new DirectGetClient(ObjectClients.create(BUCKET, config.withGetClient(S3Config.GetClient.SDK), metrics,
        server.credentials()), BUCKET, ObjectClients.directWhere(BUCKET, config), config,
        StaticCredentialsProvider.create(AwsBasicCredentials.create(server.accessKey(), "wrong-secret")),
        (SSLSocketFactory) SSLSocketFactory.getDefault(), metrics, told::add);
    ObjectClientException e = assertThrows(ObjectClientException.class,
        () -> client.getRange(BIG, bigEtag, 0, ByteBuffer.allocate(10)));
    assertEquals(Kind.CREDENTIALS, e.kind(), e.getMessage());
    assertEquals(1, told.size());
    assertEquals(1, attempts(), "refused credentials are not retried");
  }

  @Test
  void theEndpointIsResolvedByTheSdksRules() {
    S3Config aws = S3Config.defaults().withRegion("eu-west-1");
    DirectGetClient.Where virtual = ObjectClients.directWhere("my-bucket", aws);
    assertEquals(URI.create("https://my-bucket.s3.eu-west-1.amazonaws.com"), virtual.base());
    assertEquals("", virtual.pathPrefix());
    assertEquals("s3", virtual.signingName());
    assertEquals("eu-west-1", virtual.signingRegion());
    DirectGetClient.Where path = ObjectClients.directWhere("data",
        aws.withEndpoint(URI.create("http://127.0.0.1:9000")).withPathStyle(true));
    assertEquals("/data", path.pathPrefix());
    assertEquals(9000, path.port());
  }

  /** The SDK's Apache client honours a configured proxy and this client does not: GETs stay with the SDK. */
  @Test
  void aConfiguredProxyLeavesGetsToTheSdk() {
    System.setProperty("http.proxyHost", "127.0.0.1");
    try {
      assertEquals(null, ObjectClients.directWhere(BUCKET, config()));
      try (ObjectClient sdkOnly = ObjectClients.create(BUCKET, config(), metrics, server.credentials())) {
        assertEquals(SdkObjectClient.class, sdkOnly.getClass());
      }
    } finally {
      System.clearProperty("http.proxyHost");
    }
    assertEquals(DirectGetClient.class, client().getClass());
  }

  // ---- the scripted server

  static final byte[] BODY = randomBytes(100_000, 5);

  /** 206 with {@code Content-Length}, answering the Range the request asks for. */
  static byte[] partial(String request, boolean close) {
    long[] range = range(request);
    byte[] body = Arrays.copyOfRange(BODY, (int) range[0], (int) range[1] + 1);
    return concat(("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes " + range[0] + "-" + range[1] + "/"
        + BODY.length + "\r\nContent-Length: " + body.length + "\r\nETag: \"e\"\r\n"
        + (close ? "Connection: close\r\n" : "") + "\r\n").getBytes(StandardCharsets.ISO_8859_1), body);
  }

  static long[] range(String request) {
    for (String line : request.split("\r\n")) {
      if (line.toLowerCase(Locale.ROOT).startsWith("range: bytes=")) {
        String[] r = line.substring("range: bytes=".length()).split("-");
        return new long[] {Long.parseLong(r[0].trim()), Long.parseLong(r[1].trim())};
      }
    }
    throw new AssertionError("no Range in " + request);
  }

  @Test
  void aRetryAsksOnlyForTheBytesNotYetReceived() throws Exception {
    try (Scripted s = new Scripted(null, (i, req) -> {
      byte[] whole = partial(req, false);
      return i == 0 ? Arrays.copyOf(whole, whole.length - 40_000) : whole; // the first answer breaks off
    })) {
      DirectGetClient c = s.client(3);
      ByteBuffer dst = ByteBuffer.allocateDirect(90_000);
      List<Integer> told = new ArrayList<>();
      c.getRange("k", "\"e\"", 10_000, dst, told::add);
      assertArrayEquals(Arrays.copyOfRange(BODY, 10_000, 100_000), bytes(dst));
      assertEquals(2, s.requests.size());
      assertArrayEquals(new long[] {10_000, 99_999}, range(s.requests.get(0)));
      long resumed = range(s.requests.get(1))[0];
      assertTrue(resumed > 10_000 + 40_000, "the retry asked from " + resumed);
      assertEquals(resumed - 10_000, (long) told.get(told.indexOf((int) (resumed - 10_000))));
      assertTrue(s.requests.get(1).contains("If-Match: \"e\""), s.requests.get(1));
      assertEquals(90_000, metrics.counter(MetricNames.S3_BYTES).getCount(), "no byte was fetched twice");
    }
  }

  @Test
  void aPooledConnectionTheServerClosedIsReplacedWithoutSpendingAnAttempt() throws Exception {
    // The server closes every connection after one answer without saying so.
    try (Scripted s = new Scripted(null, (i, req) -> partial(req, false)).closingAfterEachAnswer()) {
      DirectGetClient c = s.client(1);
      for (int i = 0; i < 3; i++) {
        ByteBuffer dst = ByteBuffer.allocate(1000);
        c.getRange("k", "\"e\"", i * 1000L, dst);
        assertArrayEquals(Arrays.copyOfRange(BODY, i * 1000, i * 1000 + 1000), bytes(dst));
      }
      assertEquals(3, metrics.counter(MetricNames.S3_ATTEMPTS).getCount());
      assertEquals(0, metrics.counter(MetricNames.S3_ERRORS).getCount());
    }
  }

  @Test
  void aChunkedBodyIsDecoded() throws Exception {
    try (Scripted s = new Scripted(null, (i, req) -> {
      long[] r = range(req);
      byte[] body = Arrays.copyOfRange(BODY, (int) r[0], (int) r[1] + 1);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.writeBytes(("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes " + r[0] + "-" + r[1] + "/" + BODY.length
          + "\r\nTransfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      for (int at = 0; at < body.length; at += 7_000) {
        int n = Math.min(7_000, body.length - at);
        out.writeBytes((Integer.toHexString(n) + ";ext=1\r\n").getBytes(StandardCharsets.ISO_8859_1));
        out.write(body, at, n);
        out.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
      }
      out.writeBytes("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      return out.toByteArray();
    })) {
      ByteBuffer dst = ByteBuffer.allocateDirect(50_000);
      s.client(1).getRange("k", "\"e\"", 123, dst);
      assertArrayEquals(Arrays.copyOfRange(BODY, 123, 50_123), bytes(dst));
    }
  }

  @Test
  void errorBodiesGiveS3sCodeAndOnlyRetriedCodesAreRetried() throws Exception {
    String slowDown = error(503, "SlowDown", "Please reduce your request rate.");
    String timeout = error(400, "RequestTimeout", "Your socket connection to the server was not read from.");
    String denied = error(403, "AccessDenied", "Access Denied");
    List<String> answers = List.of(slowDown, timeout, denied);
    try (Scripted s = new Scripted(null, (i, req) -> answers.get(Math.min(i, 2)).getBytes(StandardCharsets.UTF_8))) {
      ObjectClientException e = assertThrows(ObjectClientException.class,
          () -> s.client(5).getRange("k", "\"e\"", 0, ByteBuffer.allocate(10)));
      assertEquals(Kind.ACCESS_DENIED, e.kind(), e.getMessage());
      assertTrue(e.getMessage().contains("AccessDenied"), e.getMessage());
      assertEquals(3, s.requests.size(), "SlowDown and RequestTimeout retried, AccessDenied not");
    }
    try (Scripted s = new Scripted(null, (i, req) -> slowDown.getBytes(StandardCharsets.UTF_8))) {
      ObjectClientException e = assertThrows(ObjectClientException.class,
          () -> s.client(2).getRange("k", "\"e\"", 0, ByteBuffer.allocate(10)));
      assertEquals(Kind.SERVER_ERROR, e.kind());
      assertTrue(e.getMessage().contains("503 SlowDown") && e.getMessage().contains("after 2 attempts"),
          e.getMessage());
      assertEquals(1, s.connections, "error answers with a body keep the connection");
    }
  }

  @Test
  void aStatusTheSdkDoesNotRetryIsNotRetried() throws Exception {
    try (Scripted s = new Scripted(null, (i, req) -> error(501, "NotImplemented", "A header you provided implies "
        + "functionality that is not implemented").getBytes(StandardCharsets.UTF_8))) {
      ObjectClientException e = assertThrows(ObjectClientException.class,
          () -> s.client(4).getRange("k", "\"e\"", 0, ByteBuffer.allocate(10)));
      assertEquals(Kind.SERVER_ERROR, e.kind(), e.getMessage()); // as the SDK's error is mapped
      assertEquals(1, s.requests.size(), "501 is not among the statuses the SDK retries");
    }
  }

  /** As the SDK does: an answer that says this host's clock is off corrects it from the answer's Date. */
  @Test
  void aSkewedClockIsCorrectedFromTheServersDateAndTheGetRetried() throws Exception {
    java.time.Instant serverNow = java.time.Instant.now().plus(Duration.ofHours(2));
    String date = java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME.format(
        serverNow.atZone(java.time.ZoneOffset.UTC));
    try (Scripted s = new Scripted(null, (i, req) -> {
      if (i == 0) {
        String e = error(403, "RequestTimeTooSkewed", "The difference between the request time and the current "
            + "time is too large.");
        return e.replace("\r\n\r\n", "\r\nDate: " + date + "\r\n\r\n").getBytes(StandardCharsets.UTF_8);
      }
      return partial(req, false);
    })) {
      DirectGetClient c = s.client(3);
      ByteBuffer dst = ByteBuffer.allocate(100);
      c.getRange("k", "\"e\"", 0, dst);
      assertArrayEquals(Arrays.copyOf(BODY, 100), bytes(dst));
      assertEquals(2, s.requests.size());
      String signedAt = s.requests.get(1).lines().filter(l -> l.startsWith("X-Amz-Date:")).findFirst().orElseThrow();
      java.time.Instant at = java.time.LocalDateTime.parse(signedAt.substring(12).trim(),
          java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")).toInstant(java.time.ZoneOffset.UTC);
      assertTrue(Duration.between(serverNow, at).abs().compareTo(Duration.ofMinutes(1)) < 0,
          "the retry was signed at " + at + ", the server's clock said " + serverNow);
    }
    // Without a Date far off, SignatureDoesNotMatch is what it says: refused credentials, not retried.
    try (Scripted s = new Scripted(null, (i, req) -> error(403, "SignatureDoesNotMatch", "no")
        .getBytes(StandardCharsets.UTF_8))) {
      ObjectClientException e = assertThrows(ObjectClientException.class,
          () -> s.client(3).getRange("k", "\"e\"", 0, ByteBuffer.allocate(10)));
      assertEquals(Kind.CREDENTIALS, e.kind());
      assertEquals(1, s.requests.size());
    }
  }

  @Test
  void aBodyEndedByClosingTheConnectionIsRead() throws Exception {
    try (Scripted s = new Scripted(null, (i, req) -> {
      long[] r = range(req);
      return concat(("HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 206 Partial Content\r\n"
          + "Content-Range: bytes " + r[0] + "-" + r[1] + "/" + BODY.length + "\r\n\r\n")
          .getBytes(StandardCharsets.ISO_8859_1), Arrays.copyOfRange(BODY, (int) r[0], (int) r[1] + 1));
    }).closingAfterEachAnswer()) {
      DirectGetClient c = s.client(1);
      for (int i = 0; i < 2; i++) {
        ByteBuffer dst = ByteBuffer.allocateDirect(30_000);
        c.getRange("k", "\"e\"", 500 + i, dst);
        assertArrayEquals(Arrays.copyOfRange(BODY, 500 + i, 30_500 + i), bytes(dst));
      }
      assertEquals(2, s.connections, "a body without a length ends its connection");
    }
  }

  /** A closing cache interrupts its fills: one waiting for a connection gives up at once. */
  @Test
  void aGetWaitingForAConnectionGivesUpWhenInterrupted() throws Exception {
    java.util.concurrent.CountDownLatch answer = new java.util.concurrent.CountDownLatch(1);
    try (Scripted s = new Scripted(null, (i, req) -> {
      try {
        answer.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return partial(req, false);
    })) {
      S3Config one = S3Config.defaults().withEndpoint(URI.create("http://127.0.0.1:" + s.server.getLocalPort()))
          .withPathStyle(true).withMaxConnections(1).withMaxAttempts(1).withGetClient(S3Config.GetClient.SDK);
      DirectGetClient c = new DirectGetClient(ObjectClients.create("b", one, new MetricRegistry(),
          server().credentials()), "b", ObjectClients.directWhere("b", one), one, server().credentials(),
          null, metrics, reason -> {});
      s.clients.add(c);
      Thread holder = new Thread(() -> {
        try {
          c.getRange("k", "\"e\"", 0, ByteBuffer.allocate(10));
        } catch (ObjectClientException e) {
          throw new AssertionError(e);
        }
      });
      holder.start();
      while (s.requests.isEmpty()) {
        Thread.sleep(10); // the only connection is taken
      }
      List<Throwable> failed = Collections.synchronizedList(new ArrayList<>());
      Thread waiter = new Thread(() -> {
        try {
          c.getRange("k", "\"e\"", 0, ByteBuffer.allocate(10));
        } catch (ObjectClientException e) {
          failed.add(e);
        }
      });
      waiter.start();
      Thread.sleep(200);
      long start = System.nanoTime();
      waiter.interrupt();
      waiter.join(5_000);
      assertTrue(!waiter.isAlive() && Duration.ofNanos(System.nanoTime() - start).toMillis() < 2_000,
          "the interrupted GET gave up at once");
      assertEquals(1, failed.size());
      assertEquals(1, s.requests.size(), "it sent nothing");
      answer.countDown();
      holder.join(10_000);
    }
  }

  static String error(int status, String code, String message) {
    String xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code + "</Code><Message>" + message
        + "</Message><RequestId>R1</RequestId></Error>";
    return "HTTP/1.1 " + status + " X\r\nContent-Type: application/xml\r\nContent-Length: "
        + xml.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + xml;
  }

  @Test
  void httpsVerifiesTheServersCertificateAndName(@TempDir Path dir) throws Exception {
    Path keystore = dir.resolve("server.p12");
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
        "-genkeypair", "-alias", "s", "-keyalg", "EC", "-keystore", keystore.toString(), "-storetype", "PKCS12",
        "-storepass", "secret", "-dname", "CN=127.0.0.1", "-ext", "SAN=ip:127.0.0.1", "-validity", "2")
        .redirectErrorStream(true).start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, new String(p.getInputStream().readAllBytes()));
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(keystore)) {
      ks.load(in, "secret".toCharArray());
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, "secret".toCharArray());
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext serverSide = SSLContext.getInstance("TLS");
    serverSide.init(kmf.getKeyManagers(), null, null);
    SSLContext trusting = SSLContext.getInstance("TLS");
    trusting.init(null, tmf.getTrustManagers(), null);

    try (Scripted s = new Scripted(serverSide.getServerSocketFactory(), (i, req) -> partial(req, false))) {
      DirectGetClient c = s.client(1, trusting.getSocketFactory());
      for (int i = 0; i < 3; i++) {
        ByteBuffer dst = ByteBuffer.allocateDirect(60_000);
        c.getRange("k", "\"e\"", 1000L * i, dst);
        assertArrayEquals(Arrays.copyOfRange(BODY, 1000 * i, 1000 * i + 60_000), bytes(dst));
      }
      assertEquals(1, s.connections, "one TLS connection kept alive");

      ObjectClientException untrusted = assertThrows(ObjectClientException.class,
          () -> s.client(1, (SSLSocketFactory) SSLSocketFactory.getDefault()).getRange("k", "\"e\"", 0,
              ByteBuffer.allocate(10)));
      assertEquals(Kind.UNREACHABLE, untrusted.kind());
      assertTrue(untrusted.getMessage().contains("TLS failure"), untrusted.getMessage());
    }
  }

  static byte[] bytes(ByteBuffer filled) {
    ByteBuffer b = filled.duplicate().flip();
    byte[] out = new byte[b.remaining()];
    b.get(out);
    return out;
  }

  static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /** A server on 127.0.0.1 that records each request head and answers it with the script's bytes. */
  final class Scripted implements AutoCloseable {
    final ServerSocket server;
    final List<String> requests = Collections.synchronizedList(new ArrayList<>());
    final BiFunction<Integer, String, byte[]> script;
    final Thread acceptor;
    volatile int connections;
    volatile boolean closeAfterEach;
    final List<DirectGetClient> clients = new ArrayList<>();

    Scripted(ServerSocketFactory factory, BiFunction<Integer, String, byte[]> script) throws IOException {
      this.server = (factory == null ? ServerSocketFactory.getDefault() : factory)
          .createServerSocket(0, 50, InetAddress.getLoopbackAddress());
      this.script = script;
      this.acceptor = new Thread(this::accept, "scripted-s3");
      acceptor.setDaemon(true);
      acceptor.start();
    }

    Scripted closingAfterEachAnswer() {
      closeAfterEach = true;
      return this;
    }

    DirectGetClient client(int maxAttempts) {
      return client(maxAttempts, null);
    }

    DirectGetClient client(int maxAttempts, SSLSocketFactory tls) {
      String scheme = tls == null ? "http" : "https";
      S3Config config = S3Config.defaults().withEndpoint(URI.create(scheme + "://127.0.0.1:" + server.getLocalPort()))
          .withPathStyle(true).withMaxAttempts(maxAttempts).withBackoff(Duration.ofMillis(1), Duration.ofMillis(5))
          .withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(5)).withGetClient(S3Config.GetClient.SDK);
      DirectGetClient c = new DirectGetClient(ObjectClients.create("b", config, new MetricRegistry(),
          server().credentials()), "b", ObjectClients.directWhere("b", config), config, server().credentials(),
          tls, metrics, reason -> {});
      clients.add(c);
      return c;
    }

    private void accept() {
      while (!server.isClosed()) {
        try {
          Socket s = server.accept();
          connections++;
          Thread t = new Thread(() -> serve(s), "scripted-s3-conn");
          t.setDaemon(true);
          t.start();
        } catch (IOException e) {
          return;
        }
      }
    }

    private void serve(Socket s) {
      try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
        while (true) {
          ByteArrayOutputStream head = new ByteArrayOutputStream();
          int b;
          while ((b = in.read()) >= 0) {
            head.write(b);
            byte[] h = head.toByteArray();
            int n = h.length;
            if (n >= 4 && h[n - 4] == '\r' && h[n - 3] == '\n' && h[n - 2] == '\r' && h[n - 1] == '\n') {
              break;
            }
          }
          if (b < 0) {
            return;
          }
          String request = head.toString(StandardCharsets.ISO_8859_1);
          int index;
          synchronized (requests) {
            index = requests.size();
            requests.add(request);
          }
          byte[] answer = script.apply(index, request);
          out.write(answer);
          out.flush();
          String text = new String(answer, 0, Math.min(answer.length, 2000), StandardCharsets.ISO_8859_1);
          int bodyStart = text.indexOf("\r\n\r\n") + 4;
          String lengthLine = text.lines().filter(l -> l.toLowerCase(Locale.ROOT).startsWith("content-length:"))
              .findFirst().orElse(null);
          boolean cut = lengthLine != null
              && answer.length - bodyStart < Long.parseLong(lengthLine.substring(15).trim());
          if (closeAfterEach || cut || text.contains("Connection: close")) {
            return;
          }
        }
      } catch (IOException e) {
        // the client went away
      }
    }

    @Override
    public void close() throws IOException {
      for (DirectGetClient c : clients) {
        c.close();
      }
      server.close();
    }
  }

  static io.s3cache.embedded.EmbeddedS3Server server() {
    return server;
  }
}
