package io.s3cache.s3;

import com.codahale.metrics.Counter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import io.s3cache.metrics.MetricNames;
import io.s3cache.s3.S3ErrorMapper.Operation;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.utils.http.SdkHttpUtils;

/**
 * The read path's ranged GETs on the daemon's own HTTP/1.1 connections; every other call goes to
 * the SDK client it wraps. Measured (docs/BENCHMARKS.md "HTTP clients"): the SDK's request
 * pipeline, run once per block below the JIT's thresholds, cost a third more CPU per GiB than the
 * request itself, half as much again while the JIT is cold, and three times as much per small
 * GET. This class sends the same request the SDK would (SigV4 by the SDK's own signer over the
 * SDK's resolved endpoint, {@code If-Match}, unsigned payload) and reads the body from the socket
 * straight into the caller's buffer.
 *
 * <p>What it keeps of the SDK's behaviour, each tested against the fault proxy: attempts up to
 * {@code max_attempts} with exponential backoff and full jitter on 429, 500, 502, 503, 504,
 * throttling codes, {@code RequestTimeout}, broken connections, timeouts and bodies cut short; no
 * retry on other statuses (403, 404, 412, 416, 501, ...); a refusal for this host's clock ({@code
 * RequestTimeTooSkewed} and the like, with a {@code Date} more than 4 minutes off) corrects the
 * signing clock by the server's and is retried; one bound of {@code request_timeout} on each
 * attempt, connect and body included, enforced by closing the connection; errors mapped by {@link
 * S3ErrorMapper} exactly as the SDK's are. Unlike the SDK, a retried attempt asks only for the
 * bytes not yet received ({@code If-Match} keeps it the same version); a pooled connection the
 * server had closed while idle is replaced at once without spending an attempt (within the same
 * attempt's deadline); and there is no retry quota shared across requests (the SDK's standard
 * strategy stops retrying after about 100 failed retries in a row), so in a long outage every GET
 * spends its own attempts, never more than {@link S3Config#worstCase()}.
 *
 * <p>Connections: plain HTTP reads through a blocking {@link SocketChannel}; HTTPS through an
 * {@link SSLSocket} with host-name verification, read through one 64 KiB array per connection. At
 * most {@code max_connections} GETs are in flight (beside the SDK's own pool, which the other calls
 * use); idle connections are kept up to that many and dropped after {@link #IDLE_LIMIT}.
 *
 * <p>Thread-safe: per-call state lives on the caller's stack and in the connection it holds
 * alone. One daemon thread, {@code s3-get-timeout}, closes connections whose attempt ran past its
 * bound.
 */
final class DirectGetClient extends ForwardingObjectClient {

  /** Idle connections older than this are closed rather than reused (S3 closes them at about 20 s). */
  static final Duration IDLE_LIMIT = Duration.ofSeconds(15);

  private static final int HEAD_MAX = 16 << 10;
  private static final int ERROR_BODY_MAX = 64 << 10;
  private static final int TLS_CHUNK = 64 << 10;
  private static final IntConsumer NOT_WATCHED = n -> {};
  private static final DateTimeFormatter HTTP_DATE =
      DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.ROOT).withZone(ZoneOffset.UTC);
  /** Error codes the SDK's standard strategy retries besides any 5xx and 429. */
  private static final Set<String> RETRIED_CODES = Set.of("SlowDown", "Throttling", "ThrottlingException",
      "ThrottledException", "RequestThrottled", "RequestThrottledException", "RequestLimitExceeded",
      "TooManyRequestsException", "BandwidthLimitExceeded", "RequestTimeout", "RequestTimeoutException",
      "InternalError", "PriorRequestNotComplete", "TransactionInProgressException", "EC2ThrottledException",
      "ProvisionedThroughputExceededException", "LimitExceededException");
  /** Statuses the SDK's standard strategy retries whatever the code. */
  private static final Set<Integer> RETRIED_STATUSES = Set.of(429, 500, 502, 503, 504);
  /** Codes that say this host's clock is off: retried with the clock corrected by the answer's Date. */
  private static final Set<String> SKEW_CODES = Set.of("RequestTimeTooSkewed", "RequestExpired",
      "RequestInTheFuture", "InvalidSignatureException", "SignatureDoesNotMatch", "AuthFailure");
  /** A server clock this far from ours (corrected) means ours is off, as the SDK judges it. */
  private static final Duration SKEW_LIMIT = Duration.ofMinutes(4);
  private static final Pattern CODE = Pattern.compile("<Code>([^<]*)</Code>");
  private static final Pattern MESSAGE = Pattern.compile("<Message>([^<]*)</Message>");

  private static final ScheduledThreadPoolExecutor TIMEOUTS = timeoutThread();

  private final String bucket;
  private final Where where;
  /** {@link #where}'s parts every request uses, taken apart once. */
  private final String scheme;
  private final String host;
  private final int port;
  private final String pathPrefix;
  private final AwsCredentialsProvider credentials;
  private final AwsV4HttpSigner signer = AwsV4HttpSigner.create();
  private final SSLSocketFactory tls;
  private final int connectTimeoutMs;
  private final long requestTimeoutNanos;
  private final int maxAttempts;
  private final Duration baseBackoff;
  private final Duration maxBackoff;
  private final Semaphore inFlight;
  private final int maxIdle;
  private final ConcurrentLinkedDeque<Connection> idle = new ConcurrentLinkedDeque<>();
  private final S3ErrorMapper errors;
  private final Consumer<String> credentialsRefused;
  private final Timer getTimer;
  private final Counter failures;
  private final Counter bytesReceived;
  private final Counter attempts;
  private volatile boolean closed;
  /** Added to this host's clock when signing: the server's time minus ours, once an answer showed them apart. */
  private volatile long clockOffsetMillis;

  /**
   * Where one bucket's objects are asked for and how requests to it are signed.
   *
   * @param base scheme, host, port and path prefix ({@code /bucket} when path-style, else empty)
   * @param signingName SigV4 service name ({@code s3})
   * @param signingRegion SigV4 region
   */
  record Where(URI base, String signingName, String signingRegion) {
    String scheme() {
      return base.getScheme().toLowerCase(Locale.ROOT);
    }

    int port() {
      return base.getPort() > 0 ? base.getPort() : "https".equals(scheme()) ? 443 : 80;
    }

    String pathPrefix() {
      String p = base.getRawPath();
      return p == null || p.equals("/") ? "" : p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
    }
  }

  /**
   * @param sdk the SDK client every other call goes to (closed with this one)
   * @param tls the socket factory for HTTPS (host names verified), unused for plain HTTP
   */
  DirectGetClient(ObjectClient sdk, String bucket, Where where, S3Config config, AwsCredentialsProvider credentials,
      SSLSocketFactory tls, MetricRegistry metrics, Consumer<String> credentialsRefused) {
    super(sdk);
    this.bucket = bucket;
    this.where = where;
    this.scheme = where.scheme();
    this.host = where.base().getHost();
    this.port = where.port();
    this.pathPrefix = where.pathPrefix();
    this.credentials = credentials;
    this.tls = "https".equals(scheme) ? java.util.Objects.requireNonNull(tls, "tls") : null;
    this.connectTimeoutMs = (int) Math.min(Integer.MAX_VALUE, config.connectTimeout().toMillis());
    this.requestTimeoutNanos = config.requestTimeout().toNanos();
    this.maxAttempts = config.maxAttempts();
    this.baseBackoff = config.baseBackoff();
    this.maxBackoff = config.maxBackoff();
    this.inFlight = new Semaphore(config.maxConnections());
    this.maxIdle = config.maxConnections();
    this.errors = new S3ErrorMapper(bucket, config.endpointLabel());
    this.credentialsRefused = credentialsRefused;
    this.getTimer = metrics.timer(MetricNames.S3_GET);
    this.failures = metrics.counter(MetricNames.S3_ERRORS);
    this.bytesReceived = metrics.counter(MetricNames.S3_BYTES);
    this.attempts = metrics.counter(MetricNames.S3_ATTEMPTS);
  }

  @Override
  public void getRange(String key, String etag, long offset, ByteBuffer dst) throws ObjectClientException {
    getRange(key, etag, offset, dst, NOT_WATCHED);
  }

  /**
   * Fills {@code dst} over up to {@code max_attempts} attempts, each asking for the bytes not yet
   * received; tells {@code arrived} after every read from the connection.
   */
  @Override
  public void getRange(String key, String etag, long offset, ByteBuffer dst, IntConsumer arrived)
      throws ObjectClientException {
    if (offset < 0) {
      throw new IllegalArgumentException("offset must not be negative, got " + offset);
    }
    int start = dst.position();
    int want = dst.remaining();
    if (want == 0) {
      return;
    }
    Fill fill = new Fill(key, etag, offset, dst, start, want, arrived);
    try (Timer.Context ignored = getTimer.time()) {
      try {
        inFlight.acquire();
      } catch (InterruptedException e) {
        // The cache is closing (its fills are interrupted): give up before sending anything.
        Thread.currentThread().interrupt();
        throw SdkClientException.builder().message("GET '" + key + "' interrupted while waiting for a connection")
            .cause(e).build();
      }
      try {
        fill.run();
      } finally {
        inFlight.release();
      }
    } catch (RuntimeException e) {
      dst.position(start);
      throw fail(key, e);
    }
  }

  /** One call's attempts; {@code got} bytes at {@code dst[start..]} are final. */
  private final class Fill {
    final String key;
    final String etag;
    final long offset;
    final ByteBuffer dst;
    final int start;
    final int want;
    final IntConsumer arrived;
    int got;

    Fill(String key, String etag, long offset, ByteBuffer dst, int start, int want, IntConsumer arrived) {
      this.key = key;
      this.etag = etag;
      this.offset = offset;
      this.dst = dst;
      this.start = start;
      this.want = want;
      this.arrived = arrived;
    }

    void run() {
      for (int attempt = 1; ; attempt++) {
        RuntimeException failure;
        try {
          attemptOnce();
          return;
        } catch (Retryable e) {
          failure = e.toSdk(attempt);
        }
        if (attempt >= maxAttempts || closed) {
          throw failure;
        }
        sleepBackoff(attempt);
      }
    }

    /**
     * One attempt, on a pooled connection or, if the server had closed that one while it was idle
     * (it fails before any answer), on a new one within the same {@code request_timeout}.
     */
    private void attemptOnce() {
      long from = offset + got;
      Request request = signedRequest(key, etag, from, offset + want - 1);
      attempts.inc(); // as the SDK counts: a request about to be sent
      long deadline = System.nanoTime() + requestTimeoutNanos;
      Connection c = idle.pollFirst();
      while (c != null && c.idleTooLong()) {
        c.close();
        c = idle.pollFirst();
      }
      if (c != null) {
        try {
          exchange(c, request, deadline);
          return;
        } catch (Retryable e) {
          if (!e.beforeAnswer) {
            throw e;
          }
          // Not counted as an attempt: the request never reached a server that would answer it.
        }
      }
      exchange(null, request, deadline);
    }

    /** Sends {@code request} and reads the answer; {@code pooled} null means a new connection. */
    private void exchange(Connection pooled, Request request, long deadline) {
      long from = offset + got;
      long last = offset + want - 1;
      Watchdog watchdog = new Watchdog(deadline);
      Connection c = pooled;
      boolean reusable = false;
      boolean answered = false;
      try {
        if (c == null) {
          c = connect(watchdog);
        } else {
          watchdog.watch(c);
        }
        c.write(request.wire());
        Response r = c.readHead();
        answered = true;
        if (r.status != 200 && r.status != 206) {
          reusable = r.readErrorBody(c);
          boolean skewed = r.code != null && SKEW_CODES.contains(r.code) && correctClock(r);
          throw Retryable.service(r, request.what(), skewed);
        }
        checkContentRange(r, from, last);
        int need = want - got;
        if (r.chunked) {
          readChunked(c, need);
          reusable = false; // the rest of a chunked body (a 200 with the whole object) is not worth reading
        } else if (r.contentLength < 0) {
          readBody(c, need); // a body the server ends by closing the connection
          reusable = false;
        } else {
          if (r.contentLength < need) {
            throw new Retryable(new EOFException("GET '" + key + "' answered " + r.contentLength + " bytes where "
                + need + " were asked"), false);
          }
          readBody(c, need);
          reusable = r.contentLength == need && !r.close;
        }
      } catch (IOException e) {
        throw new Retryable(watchdog.fired() ? timedOut(e) : e, !answered && pooled != null && !watchdog.fired());
      } finally {
        // A timer that already fired (or is closing the connection now) makes it unusable.
        if (!watchdog.cancel()) {
          reusable = false;
        }
        if (c != null) {
          if (reusable && !closed) {
            release(c);
          } else {
            c.close();
          }
        }
      }
    }

    /** Reads the next {@code need} bytes of the range into {@code dst}. */
    private void readBody(Connection c, int need) throws IOException {
      int target = got + need;
      int end = start + target;
      while (got < target) {
        int n;
        dst.limit(end);
        try {
          n = c.read(dst);
        } finally {
          dst.limit(start + want);
        }
        if (n < 0) {
          throw new EOFException("GET body of '" + key + "' ended after " + got + " of " + want + " bytes");
        }
        got += n;
        bytesReceived.inc(n);
        arrived.accept(got);
      }
    }

    private void readChunked(Connection c, int need) throws IOException {
      int left = need;
      while (left > 0) {
        int size = c.readChunkSize();
        if (size == 0) {
          throw new EOFException("GET body of '" + key + "' ended after " + got + " of " + want + " bytes");
        }
        int take = Math.min(size, left);
        readBody(c, take);
        left -= take;
        if (take < size) {
          return; // the range is complete; the rest of the chunk is dropped with the connection
        }
        c.readLine(); // CRLF after the chunk
      }
    }

    private void checkContentRange(Response r, long from, long last) {
      if (r.chunked && r.contentRange == null && from == 0) {
        return; // a whole object sent chunked: its length shows as it is read
      }
      S3ErrorMapper.checkContentRange(r.contentRange, r.contentLength < 0 ? null : r.contentLength, key, from, last);
    }

    private void sleepBackoff(int attempt) {
      // Exponential delay with full jitter, as the SDK's exponentialDelay(base, max).
      long cap = baseBackoff.toNanos();
      for (int i = 1; i < attempt && cap < maxBackoff.toNanos(); i++) {
        cap *= 2;
      }
      cap = Math.min(cap, maxBackoff.toNanos());
      long nanos = ThreadLocalRandom.current().nextLong(cap + 1);
      try {
        TimeUnit.NANOSECONDS.sleep(nanos);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw SdkClientException.builder().message("GET '" + key + "' interrupted between attempts").cause(e)
            .numAttempts(attempt).build();
      }
    }
  }

  /** Puts a connection whose exchange ended cleanly back in the pool (or closes it). */
  private void release(Connection c) {
    c.idleSince = System.nanoTime();
    for (Connection oldest = idle.peekLast(); oldest != null && oldest.idleTooLong(); oldest = idle.peekLast()) {
      if (idle.removeLastOccurrence(oldest)) {
        oldest.close();
      }
    }
    if (idle.size() < maxIdle) {
      idle.addFirst(c);
      if (closed) {
        drainIdle(); // close() ran between the check and the add
      }
    } else {
      c.close();
    }
  }

  private void drainIdle() {
    for (Connection c; (c = idle.pollFirst()) != null; ) {
      c.close();
    }
  }

  /** A signed request: a one-line description for messages, and the head to send. */
  private record Request(String what, byte[] wire) {}

  /**
   * The signed GET of {@code [from, last]}. The credentials are resolved per request (providers
   * cache them and renew them before they expire).
   */
  private Request signedRequest(String key, String etag, long from, long last) {
    String path = pathPrefix + "/" + SdkHttpUtils.urlEncodeIgnoreSlashes(key);
    SdkHttpRequest.Builder b = SdkHttpRequest.builder().method(SdkHttpMethod.GET)
        .protocol(scheme).host(host).port(port).encodedPath(path)
        .putHeader("Range", "bytes=" + from + "-" + last);
    Instant unmodifiedSince = ObjectMeta.unmodifiedSinceBound(etag);
    if (unmodifiedSince != null) {
      b.putHeader("If-Unmodified-Since", HTTP_DATE.format(unmodifiedSince)); // no ETag: Last-Modified is the version
    } else if (etag != null) {
      b.putHeader("If-Match", etag);
    }
    SdkHttpRequest unsigned = b.build();
    AwsCredentialsIdentity identity = credentials.resolveCredentials();
    SignedRequest signed = signer.sign(r -> r.identity(identity).request(unsigned)
        .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, where.signingName())
        .putProperty(AwsV4HttpSigner.REGION_NAME, where.signingRegion())
        .putProperty(AwsV4HttpSigner.PAYLOAD_SIGNING_ENABLED, false)
        .putProperty(AwsV4HttpSigner.DOUBLE_URL_ENCODE, false)
        .putProperty(AwsV4HttpSigner.NORMALIZE_PATH, false)
        .putProperty(HttpSigner.SIGNING_CLOCK, signingClock()));
    StringBuilder head = new StringBuilder(768).append("GET ").append(path).append(" HTTP/1.1\r\n");
    // The signer adds Host itself (SigV4 signs it), with the port only where it is not the default.
    for (Map.Entry<String, List<String>> h : signed.request().headers().entrySet()) {
      for (String v : h.getValue()) {
        head.append(h.getKey()).append(": ").append(v).append("\r\n");
      }
    }
    head.append("\r\n");
    return new Request("GET '" + key + "' bytes=" + from + "-" + last,
        head.toString().getBytes(StandardCharsets.ISO_8859_1));
  }

  private Clock signingClock() {
    long offset = clockOffsetMillis;
    return offset == 0 ? Clock.systemUTC() : Clock.offset(Clock.systemUTC(), Duration.ofMillis(offset));
  }

  /**
   * As the SDK's clock-skew adjustment: when an answer refusing the request's time carries a Date
   * more than {@link #SKEW_LIMIT} from our (corrected) clock, sign from now on with the server's
   * time; true when it did.
   */
  private boolean correctClock(Response r) {
    if (r.date == null) {
      return false;
    }
    long server;
    try {
      server = java.time.ZonedDateTime.parse(r.date, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant().toEpochMilli();
    } catch (java.time.format.DateTimeParseException e) {
      return false;
    }
    long ours = System.currentTimeMillis();
    if (Math.abs(server - (ours + clockOffsetMillis)) <= SKEW_LIMIT.toMillis()) {
      return false;
    }
    clockOffsetMillis = server - ours;
    return true;
  }

  private Connection connect(Watchdog watchdog) throws IOException {
    InetSocketAddress address = new InetSocketAddress(host, port);
    if (address.isUnresolved()) {
      throw new java.net.UnknownHostException(host);
    }
    if (tls == null) {
      SocketChannel ch = SocketChannel.open();
      Connection c = new Connection(ch, null);
      watchdog.watch(c);
      ch.socket().connect(address, connectTimeoutMs);
      ch.socket().setTcpNoDelay(true);
      return c;
    }
    Socket raw = new Socket();
    Connection c = new Connection(null, raw);
    watchdog.watch(c);
    raw.connect(address, connectTimeoutMs);
    raw.setTcpNoDelay(true);
    // A bound on each blocking read besides the timer, as the SDK's Apache client sets one.
    raw.setSoTimeout((int) Math.min(Integer.MAX_VALUE, Math.max(1, requestTimeoutNanos / 1_000_000)));
    SSLSocket s = (SSLSocket) tls.createSocket(raw, host, port, true);
    SSLParameters p = s.getSSLParameters();
    p.setEndpointIdentificationAlgorithm("HTTPS");
    s.setSSLParameters(p);
    c.tls(s);
    s.startHandshake();
    return c;
  }

  /**
   * Closes the connection of an attempt that runs past its deadline ({@code request_timeout} from
   * the attempt's start). One state decides between the timer and the exchange's end: a timer that
   * fired makes the connection unusable even if the exchange ended at the same moment.
   */
  private static final class Watchdog implements Runnable {
    private static final int ARMED = 0;
    private static final int FIRED = 1;
    private static final int DONE = 2;
    private final long deadline;
    private final java.util.concurrent.atomic.AtomicInteger state = new java.util.concurrent.atomic.AtomicInteger();
    private volatile Connection watched;
    private ScheduledFuture<?> timer;

    Watchdog(long deadline) {
      this.deadline = deadline;
    }

    void watch(Connection c) {
      watched = c;
      if (timer == null) {
        timer = TIMEOUTS.schedule(this, Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      }
      if (state.get() == FIRED) {
        c.close();
      }
    }

    @Override
    public void run() {
      if (state.compareAndSet(ARMED, FIRED)) {
        Connection c = watched;
        if (c != null) {
          c.close();
        }
      }
    }

    boolean fired() {
      return state.get() == FIRED;
    }

    /** Stops the timer; false when it fired first (the connection is closed or being closed). */
    boolean cancel() {
      if (timer != null) {
        timer.cancel(false);
      }
      return state.compareAndSet(ARMED, DONE) || state.get() == DONE;
    }
  }

  private SocketTimeoutException timedOut(IOException cause) {
    SocketTimeoutException e = new SocketTimeoutException(
        "attempt ran past request_timeout (" + Duration.ofNanos(requestTimeoutNanos) + ")");
    e.initCause(cause);
    return e;
  }

  /** One HTTP/1.1 connection: plain through a channel, or TLS through a socket's streams. */
  private static final class Connection {
    final SocketChannel channel;
    final Socket socket;
    InputStream in;
    OutputStream out;
    byte[] chunk;
    /** Bytes read past the response head (or a chunk-size line), handed out before the socket's. */
    final ByteBuffer buffered = ByteBuffer.allocate(HEAD_MAX).flip();
    long idleSince;

    Connection(SocketChannel channel, Socket socket) {
      this.channel = channel;
      this.socket = socket;
    }

    /** Reads and writes go through {@code s}; {@link #close()} still closes the plain socket under it. */
    void tls(SSLSocket s) throws IOException {
      this.in = s.getInputStream();
      this.out = s.getOutputStream();
      this.chunk = new byte[TLS_CHUNK];
    }

    boolean idleTooLong() {
      return System.nanoTime() - idleSince > IDLE_LIMIT.toNanos();
    }

    void write(byte[] bytes) throws IOException {
      if (channel != null) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
          channel.write(b);
        }
      } else {
        out.write(bytes);
        out.flush();
      }
    }

    /** Reads into {@code dst} up to its limit: buffered bytes first, then one read from the socket. */
    int read(ByteBuffer dst) throws IOException {
      if (buffered.hasRemaining()) {
        int n = Math.min(buffered.remaining(), dst.remaining());
        ByteBuffer slice = buffered.slice(buffered.position(), n);
        dst.put(slice);
        buffered.position(buffered.position() + n);
        return n;
      }
      if (channel != null) {
        return channel.read(dst);
      }
      int n = in.read(chunk, 0, Math.min(chunk.length, dst.remaining()));
      if (n > 0) {
        dst.put(chunk, 0, n);
      }
      return n;
    }

    /** Fills {@code buffered} with more bytes after what it holds; -1 at end of stream. */
    private int fill() throws IOException {
      buffered.compact();
      try {
        if (!buffered.hasRemaining()) {
          throw new IOException("response head over " + HEAD_MAX + " bytes");
        }
        if (channel != null) {
          return channel.read(buffered);
        }
        int n = in.read(buffered.array(), buffered.arrayOffset() + buffered.position(), buffered.remaining());
        if (n > 0) {
          buffered.position(buffered.position() + n);
        }
        return n;
      } finally {
        buffered.flip();
      }
    }

    /** One CRLF-ended line, without the CRLF. */
    String readLine() throws IOException {
      StringBuilder line = new StringBuilder(64);
      while (true) {
        while (buffered.hasRemaining()) {
          char ch = (char) (buffered.get() & 0xff);
          if (ch == '\n') {
            int len = line.length();
            return len > 0 && line.charAt(len - 1) == '\r' ? line.substring(0, len - 1) : line.toString();
          }
          if (line.length() >= HEAD_MAX) {
            throw new IOException("response line over " + HEAD_MAX + " bytes");
          }
          line.append(ch);
        }
        if (fill() < 0) {
          throw new EOFException("connection closed in the middle of the response head");
        }
      }
    }

    /** The size line of the next chunk of a chunked body. */
    int readChunkSize() throws IOException {
      String line = readLine();
      int semi = line.indexOf(';');
      try {
        return Integer.parseInt((semi < 0 ? line : line.substring(0, semi)).trim(), 16);
      } catch (NumberFormatException e) {
        throw new IOException("unreadable chunk size '" + line + "'");
      }
    }

    Response readHead() throws IOException {
      if (!buffered.hasRemaining() && fill() < 0) {
        throw new EOFException("connection closed before the response");
      }
      Response r = new Response();
      String status = readLine();
      String[] parts = status.split(" ", 3);
      if (parts.length < 2 || !parts[0].startsWith("HTTP/")) {
        throw new IOException("not an HTTP response: '" + status + "'");
      }
      try {
        r.status = Integer.parseInt(parts[1]);
      } catch (NumberFormatException e) {
        throw new IOException("not an HTTP status line: '" + status + "'");
      }
      r.close = parts[0].equals("HTTP/1.0");
      for (String line = readLine(); !line.isEmpty(); line = readLine()) {
        int colon = line.indexOf(':');
        if (colon <= 0) {
          continue;
        }
        String name = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
        String value = line.substring(colon + 1).trim();
        switch (name) {
          case "content-length" -> {
            try {
              r.contentLength = Long.parseLong(value);
            } catch (NumberFormatException e) {
              throw new IOException("unreadable Content-Length '" + value + "'");
            }
          }
          case "content-range" -> r.contentRange = value;
          case "transfer-encoding" -> r.chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
          case "connection" -> r.close = value.equalsIgnoreCase("close");
          case "x-amz-request-id" -> r.requestId = value;
          case "date" -> r.date = value;
          default -> { }
        }
      }
      if (r.status >= 100 && r.status < 200) {
        return readHead(); // an interim answer (100 Continue, 103 Early Hints); the final one follows
      }
      return r;
    }

    void close() {
      try {
        if (channel != null) {
          channel.close();
        } else if (socket != null) {
          socket.close();
        }
      } catch (IOException e) {
        // closing anyway
      }
    }
  }

  /** The parts of a response head this client reads. */
  private static final class Response {
    int status;
    long contentLength = -1;
    String contentRange;
    boolean chunked;
    boolean close;
    String requestId;
    String date;
    String code;
    String message;

    /**
     * Reads an error answer's body (S3's XML: Content-Length, chunked, or up to the connection's
     * end) for its code and message; true when the connection may be reused.
     */
    boolean readErrorBody(Connection c) throws IOException {
      ByteBuffer body = ByteBuffer.allocate(ERROR_BODY_MAX);
      boolean whole;
      try {
        if (chunked) {
          whole = readChunks(c, body);
        } else if (contentLength >= 0) {
          whole = contentLength <= ERROR_BODY_MAX && readUpTo(c, body, (int) contentLength);
        } else {
          readUpTo(c, body, ERROR_BODY_MAX);
          whole = false; // ended by closing the connection
        }
      } catch (IOException e) {
        whole = false; // the status stands; what came of the body is still read for a code
      }
      String xml = new String(body.array(), 0, body.position(), StandardCharsets.UTF_8);
      Matcher m = CODE.matcher(xml);
      code = m.find() ? m.group(1) : null;
      m = MESSAGE.matcher(xml);
      message = m.find() ? m.group(1) : null;
      return whole && !close;
    }

    /** Reads {@code n} bytes (or up to the end of the stream); true when all {@code n} came. */
    private static boolean readUpTo(Connection c, ByteBuffer body, int n) throws IOException {
      int end = Math.min(body.capacity(), body.position() + n);
      body.limit(end);
      while (body.hasRemaining()) {
        if (c.read(body) < 0) {
          break;
        }
      }
      body.limit(body.capacity());
      return body.position() == end;
    }

    /** A chunked body into {@code body} while it fits; true when it ended within it. */
    private static boolean readChunks(Connection c, ByteBuffer body) throws IOException {
      while (true) {
        int size = c.readChunkSize();
        if (size == 0) {
          for (String trailer = c.readLine(); !trailer.isEmpty(); trailer = c.readLine()) {
            // trailers carry nothing this client reads
          }
          return true;
        }
        if (size > body.remaining() || !readUpTo(c, body, size)) {
          return false;
        }
        c.readLine();
      }
    }
  }

  /** A failed attempt, retried unless it is the last; {@code beforeAnswer}: nothing came back at all. */
  private static final class Retryable extends RuntimeException {
    final boolean beforeAnswer;
    final transient Response response;
    final String what;

    Retryable(IOException cause, boolean beforeAnswer) {
      super(cause.getMessage(), cause, false, false);
      this.beforeAnswer = beforeAnswer;
      this.response = null;
      this.what = null;
    }

    private Retryable(Response response, String what) {
      super(what + " answered " + response.status, null, false, false);
      this.beforeAnswer = false;
      this.response = response;
      this.what = what;
    }

    /** @param skewed the answer showed this host's clock off, and it is corrected now */
    static RuntimeException service(Response r, String what, boolean skewed) {
      boolean retried = skewed || RETRIED_STATUSES.contains(r.status)
          || (r.code != null && RETRIED_CODES.contains(r.code));
      return retried ? new Retryable(r, what) : serviceException(r, what, 1);
    }

    RuntimeException toSdk(int attempt) {
      if (response != null) {
        return serviceException(response, what, attempt);
      }
      return SdkClientException.builder().message(getMessage()).cause(getCause()).numAttempts(attempt).build();
    }

    private static S3Exception serviceException(Response r, String what, int attempt) {
      return (S3Exception) S3Exception.builder().statusCode(r.status).requestId(r.requestId)
          .message(what + " answered " + r.status + (r.code == null ? "" : " " + r.code))
          .awsErrorDetails(AwsErrorDetails.builder().errorCode(r.code).errorMessage(r.message)
              .serviceName("S3").build())
          .numAttempts(attempt).build();
    }
  }

  private ObjectClientException fail(String key, RuntimeException e) {
    return errors.failed(Operation.GET, key, e, failures, credentialsRefused);
  }

  @Override
  public void close() {
    closed = true;
    drainIdle();
    super.close();
  }

  @Override
  public String toString() {
    return "DirectGetClient[" + bucket + " at " + where.base() + "]";
  }

  private static ScheduledThreadPoolExecutor timeoutThread() {
    ScheduledThreadPoolExecutor e = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "s3-get-timeout");
      t.setDaemon(true);
      return t;
    });
    e.setRemoveOnCancelPolicy(true);
    return e;
  }
}
