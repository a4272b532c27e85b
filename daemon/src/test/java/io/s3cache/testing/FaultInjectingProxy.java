package io.s3cache.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An HTTP/1.1 proxy on 127.0.0.1 in front of an S3 server that injects faults into chosen
 * requests: queue faults with {@link #enqueue}; each request takes the next one, and requests
 * find the queue empty pass through untouched.
 *
 * <p>One request per connection: forwarded requests carry {@code Connection: close}, so the
 * server closes after answering and the client opens a fresh connection for the next request.
 * The Host header is kept, so SigV4 signatures made for the proxy's address still verify.
 */
public final class FaultInjectingProxy implements AutoCloseable {

  /** What the proxy does with one request. */
  public enum Fault {
    /** Forward the request and relay the response. */
    PASS,
    /** Answer 503 SlowDown (S3's throttling error) without forwarding. */
    SLOW_DOWN,
    /** Read the request, then reset the connection (TCP RST) without answering. */
    RESET,
    /** Forward; relay the response head (full Content-Length) and half the body, then close. */
    TRUNCATE_BODY
  }

  private static final byte[] SLOW_DOWN_BODY =
      ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>"
              + "<Message>Please reduce your request rate.</Message><RequestId>fault-proxy</RequestId></Error>")
          .getBytes(StandardCharsets.UTF_8);

  private final InetSocketAddress upstream;
  private final ServerSocket listener;
  private final ExecutorService threads;
  private final Queue<Fault> faults = new ConcurrentLinkedQueue<>();
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final AtomicInteger requests = new AtomicInteger();
  private volatile boolean closed;

  private FaultInjectingProxy(URI upstream) throws IOException {
    this.upstream = new InetSocketAddress(upstream.getHost(), upstream.getPort());
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    AtomicInteger n = new AtomicInteger();
    this.threads =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "fault-proxy-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    threads.execute(this::acceptLoop);
  }

  /** Starts a proxy forwarding to {@code upstream} (an http URI with host and port). */
  public static FaultInjectingProxy start(URI upstream) throws IOException {
    return new FaultInjectingProxy(upstream);
  }

  /** Where clients should connect instead of the upstream server. */
  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + listener.getLocalPort());
  }

  /** Applies these faults, in order, to the next requests. */
  public void enqueue(Fault... next) {
    faults.addAll(List.of(next));
  }

  /** Applies {@code fault} to each of the next {@code count} requests. */
  public void enqueue(Fault fault, int count) {
    for (int i = 0; i < count; i++) {
      faults.add(fault);
    }
  }

  /** Requests received so far, faulted or not. */
  public int requests() {
    return requests.get();
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = listener.accept();
      } catch (IOException e) {
        return; // closed
      }
      open.add(client);
      threads.execute(() -> handle(client));
    }
  }

  private void handle(Socket client) {
    Socket server = null;
    try (client) {
      InputStream fromClient = client.getInputStream();
      byte[] head = readHead(fromClient);
      if (head == null) {
        return; // client closed an idle connection
      }
      requests.incrementAndGet();
      Fault fault = faults.poll();
      switch (fault == null ? Fault.PASS : fault) {
        case SLOW_DOWN -> slowDown(client.getOutputStream());
        case RESET -> {
          client.setSoLinger(true, 0);
          client.close();
        }
        case PASS, TRUNCATE_BODY -> {
          server = new Socket();
          open.add(server);
          server.connect(upstream);
          server.getOutputStream().write(withConnectionClose(head));
          server.getOutputStream().flush();
          Socket s = server;
          // Request bodies (if any) flow in the background; the response is handled here.
          threads.execute(() -> copy(fromClient, outputOf(s), Long.MAX_VALUE));
          if (fault == Fault.TRUNCATE_BODY) {
            truncate(server.getInputStream(), client.getOutputStream());
          } else {
            copy(server.getInputStream(), client.getOutputStream(), Long.MAX_VALUE);
          }
        }
      }
    } catch (IOException e) {
      // The client or server went away; nothing to relay.
    } finally {
      if (server != null) {
        closeQuietly(server);
        open.remove(server);
      }
      open.remove(client);
    }
  }

  private static void slowDown(OutputStream out) throws IOException {
    String head =
        "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: "
            + SLOW_DOWN_BODY.length
            + "\r\nConnection: close\r\n\r\n";
    out.write(head.getBytes(StandardCharsets.ISO_8859_1));
    out.write(SLOW_DOWN_BODY);
    out.flush();
  }

  private static void truncate(InputStream fromServer, OutputStream toClient) throws IOException {
    byte[] head = readHead(fromServer);
    if (head == null) {
      return;
    }
    toClient.write(head);
    long length = contentLength(head);
    if (length > 0) {
      copy(fromServer, toClient, length / 2);
    }
    toClient.flush();
  }

  /** Reads up to and including the blank line ending an HTTP head; null on EOF before any byte. */
  private static byte[] readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream(1024);
    int matched = 0;
    while (matched < 4) {
      int b = in.read();
      if (b < 0) {
        if (head.size() == 0) {
          return null;
        }
        throw new IOException("connection closed inside an HTTP head");
      }
      head.write(b);
      matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
    }
    return head.toByteArray();
  }

  private static byte[] withConnectionClose(byte[] head) {
    String[] lines = new String(head, StandardCharsets.ISO_8859_1).split("\r\n");
    List<String> kept = new ArrayList<>();
    for (String line : lines) {
      if (!line.isEmpty() && !line.toLowerCase(Locale.ROOT).startsWith("connection:")) {
        kept.add(line);
      }
    }
    kept.add("Connection: close");
    return (String.join("\r\n", kept) + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
  }

  private static long contentLength(byte[] head) {
    for (String line : new String(head, StandardCharsets.ISO_8859_1).split("\r\n")) {
      if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
        return Long.parseLong(line.substring("content-length:".length()).trim());
      }
    }
    return -1;
  }

  private static void copy(InputStream in, OutputStream out, long limit) {
    byte[] buf = new byte[16 * 1024];
    long left = limit;
    try {
      while (left > 0) {
        int n = in.read(buf, 0, (int) Math.min(buf.length, left));
        if (n < 0) {
          break;
        }
        out.write(buf, 0, n);
        out.flush();
        left -= n;
      }
    } catch (IOException e) {
      // One side closed; the other is closed by the connection's owner.
    }
  }

  private static OutputStream outputOf(Socket s) {
    try {
      return s.getOutputStream();
    } catch (IOException e) {
      return OutputStream.nullOutputStream();
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // already closed
    }
  }

  /** Stops accepting, closes every open connection and waits for the proxy's threads to end. */
  @Override
  public void close() throws InterruptedException {
    closed = true;
    try {
      listener.close();
    } catch (IOException e) {
      // already closed
    }
    open.forEach(FaultInjectingProxy::closeQuietly);
    threads.shutdown();
    if (!threads.awaitTermination(10, TimeUnit.SECONDS)) {
      threads.shutdownNow();
      throw new IllegalStateException("fault proxy threads did not stop");
    }
  }
}
