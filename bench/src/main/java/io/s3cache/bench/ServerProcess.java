package io.s3cache.bench;

import io.s3cache.embedded.EmbeddedS3Server;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * {@link S3ServerMain} started with {@code java -cp} in a process of its own, so the S3 server's CPU
 * and pauses never count against the filesystem measured; stopped (stdin closed, then killed if it
 * lingers) by {@link #close()}.
 */
final class ServerProcess implements AutoCloseable {

  private final Process process;
  private final URI endpoint;
  private final URI proxy;
  private final S3Client client;

  private ServerProcess(Process process, URI endpoint, URI proxy) {
    this.process = process;
    this.endpoint = endpoint;
    this.proxy = proxy;
    this.client = EmbeddedS3Server.clientFor(endpoint);
  }

  /** Starts the server over {@code dataDir}, its proxy adding {@code latencyMillis} to every request. */
  static ServerProcess start(Path dataDir, long latencyMillis, Path log) throws IOException {
    String java = ProcessHandle.current().info().command().orElse("java");
    Process p = new ProcessBuilder(java, "-Xmx1g", "-cp", System.getProperty("java.class.path"),
        S3ServerMain.class.getName(), dataDir.toString(), Long.toString(latencyMillis))
        .redirectError(log.toFile()).start();
    try {
      BufferedReader lines = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      URI endpoint = URI.create(value(lines.readLine(), "endpoint=", log));
      URI proxy = URI.create(value(lines.readLine(), "proxy=", log));
      return new ServerProcess(p, endpoint, proxy);
    } catch (IOException | RuntimeException e) {
      p.destroyForcibly();
      throw e;
    }
  }

  private static String value(String line, String prefix, Path log) throws IOException {
    if (line == null || !line.startsWith(prefix)) {
      throw new IOException("the S3 server process did not start (said " + line + "); see " + log);
    }
    return line.substring(prefix.length());
  }

  URI endpoint() {
    return endpoint;
  }

  /** The latency proxy in front of the server (same process). */
  URI proxy() {
    return proxy;
  }

  long pid() {
    return process.pid();
  }

  /** An SDK client for uploads (closed with this). */
  S3Client client() {
    return client;
  }

  @Override
  public void close() throws InterruptedException {
    client.close();
    try {
      process.getOutputStream().close();
    } catch (IOException e) {
      // already gone
    }
    if (!process.waitFor(20, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(20, TimeUnit.SECONDS);
    }
  }
}
