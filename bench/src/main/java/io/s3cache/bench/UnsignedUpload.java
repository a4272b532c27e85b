package io.s3cache.bench;

import io.s3cache.embedded.EmbeddedS3Server;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.http.auth.aws.scheme.AwsV4AuthScheme;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.AsyncSignRequest;
import software.amazon.awssdk.http.auth.spi.signer.AsyncSignedRequest;
import software.amazon.awssdk.http.auth.spi.signer.SignRequest;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.identity.spi.IdentityProvider;
import software.amazon.awssdk.identity.spi.IdentityProviders;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;

/**
 * What the endpoint takes when the client does not hash every payload byte with SHA-256: the same
 * multipart upload as s3cache's, from an SDK client that sends {@code UNSIGNED-PAYLOAD} with a
 * CRC32 trailer checksum per part ({@code STREAMING-UNSIGNED-PAYLOAD-TRAILER}), which is what the
 * SDK sends to an {@code https} endpoint with {@code checksum_mode=when_supported}.
 *
 * <p>Over {@code http} the SDK always signs the payload; only this measurement works around that,
 * by signing each request as if it went over https (the scheme is not part of a SigV4 signature)
 * and sending it over http. s3cache itself does no such thing: see docs/BENCHMARKS.md.
 */
final class UnsignedUpload {

  private UnsignedUpload() {}

  static S3Client client(EmbeddedS3Server server, int connections) {
    AwsV4AuthScheme standard = AwsV4AuthScheme.create();
    AwsV4HttpSigner real = AwsV4HttpSigner.create();
    AwsV4HttpSigner asIfHttps = new AwsV4HttpSigner() {
      @Override
      public SignedRequest sign(SignRequest<? extends AwsCredentialsIdentity> request) {
        SignedRequest signed = real.sign(request.copy(r -> r
            .request(request.request().toBuilder().protocol("https").build())
            .putProperty(AwsV4FamilyHttpSigner.PAYLOAD_SIGNING_ENABLED, false)));
        return signed.copy(r -> r.request(signed.request().toBuilder().protocol("http").build()));
      }

      @Override
      public CompletableFuture<AsyncSignedRequest> signAsync(AsyncSignRequest<? extends AwsCredentialsIdentity> request) {
        return real.signAsync(request);
      }
    };
    return S3Client.builder()
        .httpClientBuilder(ApacheHttpClient.builder().maxConnections(connections))
        .endpointOverride(server.endpoint())
        .region(Region.of(server.region()))
        .forcePathStyle(true)
        .credentialsProvider(server.credentials())
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_SUPPORTED)
        .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
        .putAuthScheme(new AwsV4AuthScheme() {
          @Override
          public String schemeId() {
            return standard.schemeId();
          }

          @Override
          public IdentityProvider<AwsCredentialsIdentity> identityProvider(IdentityProviders providers) {
            return standard.identityProvider(providers);
          }

          @Override
          public AwsV4HttpSigner signer() {
            return asIfHttps;
          }
        })
        .build();
  }

  /** The first {@code size} bytes of {@code file} as one object, {@code threads} parts at a time. */
  static void upload(S3Client s3, String bucket, String key, Path file, long size, long partSize, int threads)
      throws Exception {
    String id = s3.createMultipartUpload(b -> b.bucket(bucket).key(key)).uploadId();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<String>> etags = new ArrayList<>();
      for (long offset = 0; offset < size; offset += partSize) {
        int number = (int) (offset / partSize) + 1;
        long from = offset;
        long length = Math.min(partSize, size - offset);
        etags.add(pool.submit(() -> s3.uploadPart(b -> b.bucket(bucket).key(key).uploadId(id).partNumber(number)
            .contentLength(length), RequestBody.fromContentProvider(() -> slice(file, from, length), length,
                "application/octet-stream")).eTag()));
      }
      List<CompletedPart> parts = new ArrayList<>();
      for (int i = 0; i < etags.size(); i++) {
        parts.add(CompletedPart.builder().partNumber(i + 1).eTag(etags.get(i).get()).build());
      }
      s3.completeMultipartUpload(b -> b.bucket(bucket).key(key).uploadId(id).multipartUpload(m -> m.parts(parts)));
    } catch (Exception e) {
      s3.abortMultipartUpload(b -> b.bucket(bucket).key(key).uploadId(id));
      throw e;
    } finally {
      pool.shutdownNow();
    }
  }

  private static InputStream slice(Path file, long offset, long length) {
    try {
      FileChannel ch = FileChannel.open(file);
      ch.position(offset);
      InputStream in = Channels.newInputStream(ch);
      return new InputStream() {
        private long left = length;

        @Override
        public int read() throws IOException {
          if (left <= 0) {
            return -1;
          }
          left--;
          return in.read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
          if (left <= 0) {
            return -1;
          }
          int n = in.read(b, off, (int) Math.min(len, left));
          if (n > 0) {
            left -= n;
          }
          return n;
        }

        @Override
        public void close() throws IOException {
          in.close();
        }
      };
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
