package io.s3cache.bench;

import io.s3cache.embedded.EmbeddedS3Server;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.utils.http.SdkHttpUtils;

/**
 * A ranged GET with {@code If-Match} and nothing else: HTTP/1.1 on a pooled keep-alive socket to a
 * plain-HTTP endpoint, signed by the SDK's SigV4 signer alone (unsigned payload), the response
 * head parsed by hand and the body read by the socket straight into the caller's buffer (no heap
 * copy, no SDK request pipeline, interceptors, retries or metrics). A measuring stick for {@code
 * bench-client}, not a client: it fails on anything but {@code 206}/{@code 200} with the length
 * and ETag asked for, and drops the connection after any failure.
 */
final class RawGetter implements BenchClients.Getter {

  private static final int HEAD_MAX = 16 << 10;

  private final URI endpoint;
  private final String bucket;
  private final InetSocketAddress address;
  private final AwsV4HttpSigner signer = AwsV4HttpSigner.create();
  private final AwsCredentialsIdentity credentials;
  private final ConcurrentLinkedDeque<SocketChannel> idle = new ConcurrentLinkedDeque<>();
  private final ThreadLocal<ByteBuffer> heads = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(HEAD_MAX));

  RawGetter(URI endpoint, String bucket) {
    if (!"http".equals(endpoint.getScheme())) {
      throw new IllegalArgumentException("raw GETs speak plain HTTP only, not " + endpoint);
    }
    this.endpoint = endpoint;
    this.bucket = bucket;
    this.address = new InetSocketAddress(endpoint.getHost(), endpoint.getPort());
    this.credentials = EmbeddedS3Server.CREDENTIALS.resolveCredentials();
  }

  @Override
  public void get(String key, String etag, long offset, ByteBuffer dst) throws Exception {
    int want = dst.remaining();
    SdkHttpRequest request = SdkHttpRequest.builder().method(SdkHttpMethod.GET)
        .uri(URI.create(endpoint + "/" + bucket + "/" + SdkHttpUtils.urlEncodeIgnoreSlashes(key)))
        .putHeader("Range", "bytes=" + offset + "-" + (offset + want - 1))
        .putHeader("If-Match", etag)
        .build();
    SignedRequest signed = signer.sign(r -> r.identity(credentials).request(request)
        .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "s3")
        .putProperty(AwsV4HttpSigner.REGION_NAME, EmbeddedS3Server.REGION)
        .putProperty(AwsV4HttpSigner.PAYLOAD_SIGNING_ENABLED, false));
    StringBuilder head = new StringBuilder(512).append("GET ").append(signed.request().encodedPath())
        .append(" HTTP/1.1\r\n");
    if (!signed.request().headers().containsKey("Host")) {
      head.append("Host: ").append(endpoint.getHost()).append(':').append(endpoint.getPort()).append("\r\n");
    }
    for (Map.Entry<String, List<String>> h : signed.request().headers().entrySet()) {
      for (String v : h.getValue()) {
        head.append(h.getKey()).append(": ").append(v).append("\r\n");
      }
    }
    head.append("\r\n");
    SocketChannel ch = idle.pollFirst();
    if (ch == null) {
      ch = SocketChannel.open(address);
      ch.socket().setTcpNoDelay(true);
    }
    boolean reusable = false;
    try {
      ByteBuffer out = ByteBuffer.wrap(head.toString().getBytes(StandardCharsets.ISO_8859_1));
      while (out.hasRemaining()) {
        ch.write(out);
      }
      ByteBuffer in = heads.get().clear();
      int end = -1;
      while (end < 0) {
        if (ch.read(in) < 0) {
          throw new IOException("connection closed before the response head");
        }
        end = headEnd(in);
        if (end < 0 && !in.hasRemaining()) {
          throw new IOException("response head over " + HEAD_MAX + " bytes");
        }
      }
      byte[] headBytes = new byte[end];
      in.flip().get(headBytes);
      String[] lines = new String(headBytes, StandardCharsets.ISO_8859_1).split("\r\n");
      int status = Integer.parseInt(lines[0].split(" ", 3)[1]);
      long length = -1;
      String gotEtag = null;
      boolean close = false;
      for (int i = 1; i < lines.length; i++) {
        int colon = lines[i].indexOf(':');
        if (colon <= 0) {
          continue;
        }
        String name = lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT);
        String value = lines[i].substring(colon + 1).trim();
        switch (name) {
          case "content-length" -> length = Long.parseLong(value);
          case "etag" -> gotEtag = value;
          case "connection" -> close = value.equalsIgnoreCase("close");
          default -> { }
        }
      }
      if ((status != 206 && status != 200) || length != want || !etag.equals(gotEtag)) {
        throw new IOException("GET " + key + " answered " + lines[0] + ", Content-Length " + length + ", ETag "
            + gotEtag + "; asked " + want + " bytes of " + etag);
      }
      in.position(in.position() + 4); // the blank line
      int start = dst.position();
      if (in.hasRemaining()) {
        dst.put(in); // body bytes read with the head (at most HEAD_MAX)
      }
      while (dst.hasRemaining()) {
        if (ch.read(dst) < 0) {
          throw new IOException("body cut short: " + (dst.position() - start) + " of " + want + " bytes");
        }
      }
      reusable = !close;
    } finally {
      if (reusable) {
        idle.addFirst(ch);
      } else {
        ch.close();
      }
    }
  }

  /** Index of the {@code \r\n\r\n} ending the head within {@code [0, in.position())}, or -1. */
  private static int headEnd(ByteBuffer in) {
    for (int i = 3; i < in.position(); i++) {
      if (in.get(i) == '\n' && in.get(i - 1) == '\r' && in.get(i - 2) == '\n' && in.get(i - 3) == '\r') {
        return i - 3;
      }
    }
    return -1;
  }

  @Override
  public void close() {
    for (SocketChannel ch; (ch = idle.pollFirst()) != null; ) {
      try {
        ch.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
  }
}
