package io.s3cache.bench;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.embedded.EmbeddedS3Server;
import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectClients;
import io.s3cache.s3.S3Config;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.core.async.SdkPublisher;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

/**
 * The HTTP clients {@code bench-client} compares, each behind one call: a ranged GET with {@code
 * If-Match} into a direct buffer, as a cache fill asks. {@code direct} and {@code apache} are the
 * daemon's own {@link ObjectClient} with {@code get_client=direct} (its own HTTP connections, no
 * SDK request pipeline) and {@code get_client=sdk} (the SDK's Apache 4 client), retries and metrics
 * included; the others are plain SDK clients with the same region, path style and checksum mode,
 * their bodies copied into the same kind of buffer, so what differs is the HTTP stack.
 */
final class BenchClients {

  static final List<String> NAMES = List.of("direct", "apache", "apache5", "crt", "netty");

  private BenchClients() {}

  /** One client under test; thread-safe. */
  interface Getter extends AutoCloseable {
    /** Fills {@code dst} with {@code [offset, offset + dst.remaining())} of version {@code etag} of {@code key}. */
    void get(String key, String etag, long offset, ByteBuffer dst) throws Exception;

    @Override
    void close();
  }

  /**
   * @param connections connection pool size, or concurrency for the CRT client
   * @param partSize the CRT client's part size: at least the largest range asked (with its default
   *     8 MiB part size an 8 MiB range came back 416 Range Not Satisfiable)
   */
  static Getter create(String name, URI endpoint, String bucket, int connections, long partSize) {
    S3Config config = S3Config.defaults().withEndpoint(endpoint).withPathStyle(true)
        .withChecksumMode(S3Config.ChecksumMode.WHEN_REQUIRED).withMaxConnections(connections);
    return switch (name) {
      case "direct" -> daemon(ObjectClients.create(bucket, config.withGetClient(S3Config.GetClient.DIRECT),
          new MetricRegistry(), EmbeddedS3Server.CREDENTIALS));
      case "apache" -> daemon(ObjectClients.create(bucket, config.withGetClient(S3Config.GetClient.SDK),
          new MetricRegistry(), EmbeddedS3Server.CREDENTIALS));
      case "apache5" -> sync(S3Client.builder()
          .httpClientBuilder(Apache5HttpClient.builder().maxConnections(connections))
          .region(Region.of(EmbeddedS3Server.REGION)).credentialsProvider(EmbeddedS3Server.CREDENTIALS)
          .endpointOverride(endpoint).forcePathStyle(true)
          .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
          .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED).build(), bucket);
      case "netty" -> async(S3AsyncClient.builder()
          .httpClientBuilder(NettyNioAsyncHttpClient.builder().maxConcurrency(connections))
          .region(Region.of(EmbeddedS3Server.REGION)).credentialsProvider(EmbeddedS3Server.CREDENTIALS)
          .endpointOverride(endpoint).forcePathStyle(true)
          .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
          .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED).build(), bucket);
      case "crt" -> async(S3AsyncClient.crtBuilder()
          .region(Region.of(EmbeddedS3Server.REGION)).credentialsProvider(EmbeddedS3Server.CREDENTIALS)
          .endpointOverride(endpoint).forcePathStyle(true).maxConcurrency(connections)
          .minimumPartSizeInBytes(partSize)
          .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
          .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED).build(), bucket);
      default -> throw new IllegalArgumentException("unknown client '" + name + "'; known: " + NAMES);
    };
  }

  private static Getter daemon(ObjectClient client) {
    return new Getter() {
      @Override
      public void get(String key, String etag, long offset, ByteBuffer dst) throws Exception {
        client.getRange(key, etag, offset, dst);
      }

      @Override
      public void close() {
        client.close();
      }
    };
  }

  private static GetObjectRequest request(String bucket, String key, String etag, long offset, int length) {
    return GetObjectRequest.builder().bucket(bucket).key(key).ifMatch(etag)
        .range("bytes=" + offset + "-" + (offset + length - 1)).build();
  }

  /** A synchronous SDK client; the body copied through a 64 KiB heap chunk, as the daemon's client does. */
  private static Getter sync(S3Client s3, String bucket) {
    return new Getter() {
      @Override
      public void get(String key, String etag, long offset, ByteBuffer dst) throws Exception {
        int want = dst.remaining();
        s3.getObject(request(bucket, key, etag, offset, want), ResponseTransformer.unmanaged((response, in) -> {
          copy(in, dst);
          return null;
        }));
        if (dst.hasRemaining()) {
          throw new IOException("short body: " + (want - dst.remaining()) + " of " + want + " bytes");
        }
      }

      @Override
      public void close() {
        s3.close();
      }
    };
  }

  private static void copy(InputStream in, ByteBuffer dst) throws IOException {
    byte[] chunk = new byte[64 * 1024];
    try (in) {
      for (int n; dst.hasRemaining() && (n = in.read(chunk, 0, Math.min(chunk.length, dst.remaining()))) >= 0; ) {
        dst.put(chunk, 0, n);
      }
    }
  }

  /** An asynchronous SDK client; each body buffer it hands over is copied into {@code dst} once. */
  private static Getter async(S3AsyncClient s3, String bucket) {
    return new Getter() {
      @Override
      public void get(String key, String etag, long offset, ByteBuffer dst) throws Exception {
        int want = dst.remaining();
        try {
          s3.getObject(request(bucket, key, etag, offset, want), new IntoBuffer(dst)).get();
        } catch (ExecutionException e) {
          throw e.getCause() instanceof Exception x ? x : e;
        }
        if (dst.hasRemaining()) {
          throw new IOException("short body: " + (want - dst.remaining()) + " of " + want + " bytes");
        }
      }

      @Override
      public void close() {
        s3.close();
      }
    };
  }

  /** Copies a response body into a buffer as its pieces arrive; fails if the body is larger than it. */
  private static final class IntoBuffer implements AsyncResponseTransformer<GetObjectResponse, Void> {
    private final ByteBuffer dst;
    private final int start;
    private volatile CompletableFuture<Void> done;

    IntoBuffer(ByteBuffer dst) {
      this.dst = dst;
      this.start = dst.position();
    }

    @Override
    public CompletableFuture<Void> prepare() {
      dst.position(start); // a retried attempt starts over
      done = new CompletableFuture<>();
      return done;
    }

    @Override
    public void onResponse(GetObjectResponse response) {}

    @Override
    public void onStream(SdkPublisher<ByteBuffer> publisher) {
      CompletableFuture<Void> f = done;
      publisher.subscribe(new Subscriber<ByteBuffer>() {
        private Subscription s;

        @Override
        public void onSubscribe(Subscription s) {
          this.s = s;
          s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(ByteBuffer b) {
          if (b.remaining() > dst.remaining()) {
            s.cancel();
            f.completeExceptionally(new IOException("body longer than the range asked"));
            return;
          }
          dst.put(b);
        }

        @Override
        public void onError(Throwable t) {
          f.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
          f.complete(null);
        }
      });
    }

    @Override
    public void exceptionOccurred(Throwable error) {
      CompletableFuture<Void> f = done;
      if (f != null) {
        f.completeExceptionally(error);
      }
    }
  }
}
