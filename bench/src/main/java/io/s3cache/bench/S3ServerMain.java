package io.s3cache.bench;

import io.s3cache.embedded.EmbeddedS3Server;
import io.s3cache.embedded.FaultInjectingProxy;
import io.s3cache.embedded.FaultPlan;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The benchmark's S3 server in a process of its own ({@link ServerProcess} starts it): S3Proxy with
 * the filesystem backend under DATA_DIR, and in front of it a proxy that delays every request by
 * LATENCY_MS. Prints {@code endpoint=URI} and {@code proxy=URI}, then serves until its stdin closes
 * (the benchmark exits or closes it), so it never outlives the benchmark.
 *
 * <p>Usage: {@code S3ServerMain DATA_DIR LATENCY_MS}
 */
public final class S3ServerMain {

  private S3ServerMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: S3ServerMain DATA_DIR LATENCY_MS");
      System.exit(2);
    }
    try (EmbeddedS3Server server = EmbeddedS3Server.start(Path.of(args[0]));
        FaultInjectingProxy proxy = FaultInjectingProxy.start(server.endpoint())) {
      proxy.plan(FaultPlan.none().with(FaultInjectingProxy.Fault.LATENCY, 1.0)
          .withLatency(Duration.ofMillis(Long.parseLong(args[1]))));
      System.out.println("endpoint=" + server.endpoint());
      System.out.println("proxy=" + proxy.endpoint());
      System.out.flush();
      while (System.in.read() >= 0) {
        // serve until the benchmark closes our stdin or exits
      }
    }
    System.exit(0); // Jetty's and the proxy's leftover threads must not keep the process up
  }
}
