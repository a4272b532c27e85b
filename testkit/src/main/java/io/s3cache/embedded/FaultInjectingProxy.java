package io.s3cache.embedded;

import java.io.BufferedInputStream;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * An HTTP/1.1 proxy on 127.0.0.1 in front of an S3 server that injects faults, for tests and
 * {@code s3cache bench --faults}. Which fault a request gets: the next one queued with
 * {@link #enqueueFor} whose request line matches, else the next one queued with
 * {@link #enqueue}, else a draw from the {@link FaultPlan} set with {@link #plan} (none by
 * default: every request passes). {@link #outage} makes the whole upstream unreachable (refused
 * or stalled) until it is set back to {@link Outage#NONE}.
 *
 * <p>Keep-alive: a request without a body (GET, HEAD, LIST, DELETE) that passes (or only waits
 * the plan's latency) is forwarded on an upstream connection the client connection keeps, and
 * its response (Content-Length or chunked) relayed exactly, so the client can send its next
 * request on the same connection, as it would to S3. Any other request (one with a body, or a
 * fault) is forwarded with {@code Connection: close} and ends the connection after its answer.
 * The Host header is kept, so SigV4 signatures made for the proxy's address still verify.
 *
 * <p>Threads: one accept loop, one thread per connection (plus one copying any request body
 * upstream). A stalled connection holds its thread until the client gives up, the outage ends or
 * the proxy closes.
 */
public final class FaultInjectingProxy implements AutoCloseable {

  /** What the proxy does with one request. */
  public enum Fault {
    /** Forward the request and relay the response. */
    PASS,
    /** Wait the plan's latency, then forward and relay. */
    LATENCY,
    /** Answer 503 SlowDown (S3's throttling error) without forwarding. */
    SLOW_DOWN,
    /** Answer 500 InternalError without forwarding. */
    INTERNAL_ERROR,
    /** Read the request, then reset the connection (TCP RST) without answering. */
    RESET,
    /** Forward; relay the response head (full Content-Length) and half the body, then close. */
    TRUNCATE_BODY,
    /** Forward; relay the response head, then send nothing more until the client gives up. */
    STALL_BODY,
    /** Accept and read the request, never answer: hold the connection until the client gives up. */
    STALL,
    /**
     * Forward and wait for the server's answer, then reset the connection without relaying it: the
     * request took effect but the client never learns (a response lost on the way back).
     */
    DROP_RESPONSE
  }

  /** The upstream as a whole. */
  public enum Outage {
    /** Reachable: requests are handled one by one as above. */
    NONE,
    /** Connections are refused: the proxy stops listening (and resets the connections it holds). */
    REFUSE,
    /** Connections are accepted and requests read, but nothing is ever answered. */
    STALL
  }

  private static final String SLOW_DOWN =
      error(503, "Slow Down", "SlowDown", "Please reduce your request rate.");
  private static final String INTERNAL_ERROR =
      error(500, "Internal Server Error", "InternalError", "We encountered an internal error. Please try again.");

  private final InetSocketAddress upstream;
  private final int port;
  private Socket portHolder; // guarded by lock: holds the port during a REFUSE outage
  private final ExecutorService threads;
  private static final int BUFFER = 64 * 1024;

  private final Queue<Fault> faults = new ConcurrentLinkedQueue<>();
  private final List<Targeted> targeted = new CopyOnWriteArrayList<>();
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final Set<Socket> stalled = ConcurrentHashMap.newKeySet();
  private final AtomicInteger requests = new AtomicInteger();
  private final AtomicInteger connections = new AtomicInteger();
  private final Map<Fault, AtomicInteger> injected = new EnumMap<>(Fault.class);
  private final Object lock = new Object();
  private FaultPlan plan = FaultPlan.none(); // guarded by lock
  private Random random = new Random(0); // guarded by lock
  private volatile ServerSocket listener; // null while refusing
  private volatile Outage outage = Outage.NONE;
  private volatile boolean closed;

  private FaultInjectingProxy(URI upstream) throws IOException {
    this.upstream = new InetSocketAddress(upstream.getHost(), upstream.getPort());
    for (Fault f : Fault.values()) {
      injected.put(f, new AtomicInteger());
    }
    AtomicInteger n = new AtomicInteger();
    this.threads =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "fault-proxy-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    ServerSocket l = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
    this.port = l.getLocalPort();
    listen(l);
  }

  /** Starts a proxy forwarding to {@code upstream} (an http URI with host and port). */
  public static FaultInjectingProxy start(URI upstream) throws IOException {
    return new FaultInjectingProxy(upstream);
  }

  /** Where clients should connect instead of the upstream server. */
  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + port);
  }

  /** Applies these faults, in order, to the next requests (before the plan is consulted). */
  public void enqueue(Fault... next) {
    faults.addAll(List.of(next));
  }

  /** Applies {@code fault} to each of the next {@code count} requests. */
  public void enqueue(Fault fault, int count) {
    for (int i = 0; i < count; i++) {
      faults.add(fault);
    }
  }

  /**
   * Applies {@code fault} to the next {@code count} requests whose request line (e.g. {@code POST
   * /bucket/key?uploadId=1 HTTP/1.1}) matches {@code requestLine}, before anything else applies.
   */
  public void enqueueFor(Predicate<String> requestLine, Fault fault, int count) {
    targeted.add(new Targeted(requestLine, fault, new AtomicInteger(count)));
  }

  /** Forgets every fault queued with {@link #enqueue} or {@link #enqueueFor} and not yet applied. */
  public void clearQueued() {
    targeted.clear();
    faults.clear();
  }

  private record Targeted(Predicate<String> matches, Fault fault, AtomicInteger left) {}

  /** Faults later requests by this plan, its random draw restarted from the plan's seed. */
  public void plan(FaultPlan next) {
    synchronized (lock) {
      plan = next;
      random = new Random(next.seed());
    }
  }

  /**
   * Makes the upstream unreachable ({@link Outage#REFUSE}, {@link Outage#STALL}) or reachable
   * again ({@link Outage#NONE}); connections held by the previous outage are closed.
   */
  public void outage(Outage next) throws IOException {
    synchronized (lock) {
      if (closed || next == outage) {
        return;
      }
      outage = next;
      stalled.forEach(FaultInjectingProxy::reset);
      if (next == Outage.REFUSE) {
        ServerSocket l = listener;
        listener = null;
        closeQuietly(l);
        open.forEach(FaultInjectingProxy::reset);
        holdPort();
      } else if (listener == null) {
        closeQuietly(portHolder); // let go of the port just before listening on it again
        portHolder = null;
        // Listen again on the same port: clients keep the endpoint they were given.
        ServerSocket l = new ServerSocket();
        l.setReuseAddress(true);
        l.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
        listen(l);
      }
    }
  }

  /**
   * Keeps the port of a refusing proxy bound (not listening: a connect to it is refused), so that
   * no other server (another test JVM's, binding an ephemeral port) takes it during the outage and
   * answers this proxy's clients. Without {@code SO_REUSEADDR}, no other socket may bind it. Best
   * effort: if the port cannot be held (a connection of it in TIME_WAIT), it stays free as before.
   */
  private void holdPort() {
    Socket holder = new Socket();
    try {
      holder.setReuseAddress(false);
      holder.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      portHolder = holder;
    } catch (IOException e) {
      closeQuietly(holder);
    }
  }

  /** Client connections accepted so far (a keep-alive client sends many requests on one). */
  public int connections() {
    return connections.get();
  }

  /** Requests received so far, faulted or not. */
  public int requests() {
    return requests.get();
  }

  /** Requests that got {@code fault} so far (PASS: forwarded untouched), outages not counted. */
  public int injected(Fault fault) {
    return injected.get(fault).get();
  }

  /** Requests that got any fault so far, outages not counted. */
  public int injectedFaults() {
    int n = 0;
    for (var e : injected.entrySet()) {
      n += e.getKey() == Fault.PASS ? 0 : e.getValue().get();
    }
    return n;
  }

  private void listen(ServerSocket l) {
    listener = l;
    threads.execute(() -> acceptLoop(l));
  }

  private void acceptLoop(ServerSocket l) {
    while (!closed && !l.isClosed()) {
      Socket client;
      try {
        client = l.accept();
      } catch (IOException e) {
        return; // closed
      }
      open.add(client);
      connections.incrementAndGet();
      threads.execute(() -> handle(client));
    }
  }

  private Fault next(byte[] head) {
    if (!targeted.isEmpty()) {
      String text = new String(head, StandardCharsets.ISO_8859_1);
      String line = text.substring(0, Math.max(0, text.indexOf("\r\n")));
      for (Targeted t : targeted) {
        if (t.matches().test(line) && t.left().getAndDecrement() > 0) {
          return t.fault();
        }
      }
    }
    Fault queued = faults.poll();
    if (queued != null) {
      return queued;
    }
    synchronized (lock) {
      return plan.totalRate() == 0 ? Fault.PASS : plan.pick(random.nextDouble());
    }
  }

  private void handle(Socket client) {
    Socket server = null;
    try (client) {
      // Buffered: heads are parsed a byte at a time, which on a bare socket stream is one read
      // system call per byte (about 1,500 per GET, most of the proxy's CPU). Every later read of
      // the connection goes through the same buffer.
      InputStream fromClient = new BufferedInputStream(client.getInputStream(), BUFFER);
      InputStream fromServer = null;
      byte[] head;
      Fault fault;
      while (true) {
        head = readHead(fromClient);
        if (head == null) {
          return; // client closed an idle connection
        }
        requests.incrementAndGet();
        if (outage == Outage.STALL) {
          hold(client);
          return;
        }
        fault = next(head);
        injected.get(fault).incrementAndGet();
        if ((fault != Fault.PASS && fault != Fault.LATENCY) || !withoutBody(head)) {
          break;
        }
        if (fault == Fault.LATENCY) {
          Thread.sleep(latency().toMillis());
        }
        if (server == null) {
          server = new Socket();
          open.add(server);
          server.connect(upstream);
          fromServer = new BufferedInputStream(server.getInputStream(), BUFFER);
        }
        server.getOutputStream().write(head);
        server.getOutputStream().flush();
        if (!relayResponse(fromServer, client.getOutputStream(), isHead(head))
            || wantsClose(head)) {
          return;
        }
      }
      if (server != null) { // this request ends the connection: forward it on a fresh one
        closeQuietly(server);
        open.remove(server);
        server = null;
      }
      switch (fault) {
        case SLOW_DOWN -> answer(client.getOutputStream(), SLOW_DOWN);
        case INTERNAL_ERROR -> answer(client.getOutputStream(), INTERNAL_ERROR);
        case RESET -> reset(client);
        case STALL -> hold(client);
        case PASS, LATENCY, TRUNCATE_BODY, STALL_BODY, DROP_RESPONSE -> {
          if (fault == Fault.LATENCY) {
            Thread.sleep(latency().toMillis());
          }
          server = new Socket();
          open.add(server);
          server.connect(upstream);
          server.getOutputStream().write(withConnectionClose(head));
          server.getOutputStream().flush();
          fromServer = new BufferedInputStream(server.getInputStream(), BUFFER);
          Socket s = server;
          // Request bodies (if any) flow in the background; the response is handled here.
          threads.execute(() -> copy(fromClient, outputOf(s), Long.MAX_VALUE));
          switch (fault) {
            case TRUNCATE_BODY -> relayHead(fromServer, client.getOutputStream(), 0.5);
            case DROP_RESPONSE -> {
              readHead(fromServer); // the server has acted on the request
              reset(client);
            }
            case STALL_BODY -> {
              relayHead(fromServer, client.getOutputStream(), 0);
              closeQuietly(server);
              hold(client);
            }
            default -> copy(fromServer, client.getOutputStream(), Long.MAX_VALUE);
          }
        }
      }
    } catch (IOException e) {
      // The client or server went away; nothing to relay.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      if (server != null) {
        closeQuietly(server);
        open.remove(server);
      }
      open.remove(client);
    }
  }

  private Duration latency() {
    synchronized (lock) {
      return plan.latency();
    }
  }

  /** Sends nothing until the client closes (or the outage ends, or the proxy closes). */
  private void hold(Socket client) throws IOException {
    stalled.add(client);
    try {
      InputStream in = client.getInputStream();
      byte[] sink = new byte[4096];
      while (in.read(sink) >= 0) {
        // discard whatever the client still sends; EOF or an error means it gave up
      }
    } finally {
      stalled.remove(client);
    }
  }

  private static String error(int status, String reason, String code, String message) {
    String body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code + "</Code><Message>" + message
        + "</Message><RequestId>fault-proxy</RequestId></Error>";
    return "HTTP/1.1 " + status + " " + reason + "\r\nContent-Type: application/xml\r\nContent-Length: "
        + body.getBytes(StandardCharsets.UTF_8).length + "\r\nConnection: close\r\n\r\n" + body;
  }

  private static void answer(OutputStream out, String response) throws IOException {
    out.write(response.getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  /** Whether a request head announces no body (neither Content-Length > 0, chunks nor Expect). */
  private static boolean withoutBody(byte[] head) {
    for (String line : new String(head, StandardCharsets.ISO_8859_1).split("\r\n")) {
      String l = line.toLowerCase(Locale.ROOT);
      if (l.startsWith("transfer-encoding:") || l.startsWith("expect:")
          || (l.startsWith("content-length:") && !l.substring(15).trim().equals("0"))) {
        return false;
      }
    }
    return true;
  }

  private static boolean isHead(byte[] head) {
    return head.length > 5 && new String(head, 0, 5, StandardCharsets.ISO_8859_1).equals("HEAD ");
  }

  private static boolean wantsClose(byte[] head) {
    for (String line : new String(head, StandardCharsets.ISO_8859_1).split("\r\n")) {
      String l = line.toLowerCase(Locale.ROOT);
      if (l.startsWith("connection:") && l.contains("close")) {
        return true;
      }
    }
    return false;
  }

  /**
   * Relays one whole response (head, then a Content-Length or chunked body; none for HEAD, 1xx,
   * 204, 304). Returns whether the connection can carry another request: false when the server
   * closes it or the response has neither length (then relayed until the server closes).
   */
  private static boolean relayResponse(InputStream fromServer, OutputStream toClient, boolean head)
      throws IOException {
    byte[] responseHead = readHead(fromServer);
    if (responseHead == null) {
      return false;
    }
    toClient.write(responseHead);
    String text = new String(responseHead, StandardCharsets.ISO_8859_1);
    int status = Integer.parseInt(text.substring(9, 12));
    boolean keep = !wantsClose(responseHead);
    if (head || status / 100 == 1 || status == 204 || status == 304) {
      toClient.flush();
      return keep;
    }
    long length = contentLength(responseHead);
    if (length >= 0) {
      copyExactly(fromServer, toClient, length);
    } else if (text.toLowerCase(Locale.ROOT).contains("\r\ntransfer-encoding: chunked")) {
      relayChunks(fromServer, toClient);
    } else {
      copy(fromServer, toClient, Long.MAX_VALUE);
      return false;
    }
    toClient.flush();
    return keep;
  }

  private static void relayChunks(InputStream in, OutputStream out) throws IOException {
    while (true) {
      String sizeLine = readLine(in);
      out.write((sizeLine + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
      int semi = sizeLine.indexOf(';');
      long size = Long.parseLong((semi < 0 ? sizeLine : sizeLine.substring(0, semi)).trim(), 16);
      if (size == 0) {
        for (String trailer = readLine(in); ; trailer = readLine(in)) {
          out.write((trailer + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
          if (trailer.isEmpty()) {
            return;
          }
        }
      }
      copyExactly(in, out, size);
      String end = readLine(in);
      out.write((end + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
    }
  }

  private static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream(16);
    for (int b = in.read(), prev = -1; ; prev = b, b = in.read()) {
      if (b < 0) {
        throw new IOException("connection closed inside a chunked body");
      }
      if (prev == '\r' && b == '\n') {
        byte[] bytes = line.toByteArray();
        return new String(bytes, 0, bytes.length - 1, StandardCharsets.ISO_8859_1);
      }
      line.write(b);
    }
  }

  private static void copyExactly(InputStream in, OutputStream out, long length) throws IOException {
    byte[] buf = new byte[64 * 1024];
    for (long left = length; left > 0; ) {
      int n = in.read(buf, 0, (int) Math.min(buf.length, left));
      if (n < 0) {
        throw new IOException("connection closed inside a body");
      }
      out.write(buf, 0, n);
      left -= n;
    }
  }

  /** Relays the response head (its full Content-Length kept) and {@code share} of the body. */
  private static void relayHead(InputStream fromServer, OutputStream toClient, double share) throws IOException {
    byte[] head = readHead(fromServer);
    if (head == null) {
      return;
    }
    toClient.write(head);
    long length = contentLength(head);
    if (length > 0 && share > 0) {
      copy(fromServer, toClient, (long) (length * share));
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

  /** Closes with a TCP RST rather than a FIN. */
  private static void reset(Socket s) {
    try {
      s.setSoLinger(true, 0);
    } catch (IOException e) {
      // already closed
    }
    closeQuietly(s);
  }

  private static void closeQuietly(java.io.Closeable c) {
    try {
      if (c != null) {
        c.close();
      }
    } catch (IOException e) {
      // already closed
    }
  }

  /** Stops accepting, closes every open connection and waits for the proxy's threads to end. */
  @Override
  public void close() throws InterruptedException {
    synchronized (lock) {
      closed = true;
      closeQuietly(listener);
      closeQuietly(portHolder);
    }
    open.forEach(FaultInjectingProxy::closeQuietly);
    threads.shutdown();
    if (!threads.awaitTermination(10, TimeUnit.SECONDS)) {
      threads.shutdownNow();
      throw new IllegalStateException("fault proxy threads did not stop");
    }
  }
}
