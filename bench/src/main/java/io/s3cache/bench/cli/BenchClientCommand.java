package io.s3cache.bench.cli;

import io.s3cache.bench.ClientBenchmark;
import io.s3cache.config.ConfigException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code s3cache bench-client}: the SDK's HTTP clients compared on the daemon's two kinds of GET. */
@Command(mixinStandardHelpOptions = true, name = "bench-client",
    description = "Compare the daemon's own GET client (direct) with the SDK's HTTP clients (Apache, Apache 5, CRT, "
        + "Netty) on 8 MiB ranged GETs and 100 KiB GETs against S3Proxy in its own process: "
        + "rate and CPU per GiB / per 1000 GETs.")
final class BenchClientCommand implements Callable<Integer> {

  private static final List<String> KNOWN = ClientBenchmark.CLIENTS;

  @Option(names = "--work-dir", defaultValue = "/var/tmp/s3cache-bench-client", description = "Scratch space (default ${DEFAULT-VALUE})")
  Path workDir;

  @Option(names = "--clients", split = ",", defaultValue = "direct,apache,apache5,crt,netty",
      description = "Clients to compare (default ${DEFAULT-VALUE})")
  List<String> clients;

  @Option(names = "--rounds", defaultValue = "5", description = "Passes per client after the first, interleaved; "
      + "the median is reported (default ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = "--blocks", defaultValue = "64", description = "8 MiB blocks in the large object (default ${DEFAULT-VALUE})")
  int blocks;

  @Option(names = "--small-objects", defaultValue = "2000", description = "100 KiB objects (default ${DEFAULT-VALUE})")
  int smallObjects;

  @Option(names = "--keep", description = "Keep the work dir afterwards")
  boolean keep;

  @Override
  public Integer call() throws Exception {
    for (String c : clients) {
      if (!KNOWN.contains(c)) {
        throw new ConfigException("--clients: unknown client '" + c + "'; known: " + String.join(", ", KNOWN));
      }
    }
    if (rounds < 1 || blocks < 1 || smallObjects < 1) {
      throw new ConfigException("--rounds, --blocks and --small-objects must be at least 1");
    }
    new ClientBenchmark(new ClientBenchmark.Options(workDir.toAbsolutePath(), List.copyOf(clients), rounds, blocks,
        smallObjects, keep), System.out).run();
    return 0;
  }
}
