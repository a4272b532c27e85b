package io.s3cache.bench.cli;

import io.s3cache.bench.IndexStartupBenchmark;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code s3cache bench-index}: mount time over a disk cache of many blocks, with and without its index. */
@Command(mixinStandardHelpOptions = true, name = "bench-index",
    description = "Measure how long a mount takes over a warm disk cache of many blocks (needs root).")
final class BenchIndexCommand implements Callable<Integer> {

  @Option(names = "--work-dir", defaultValue = "/var/tmp/s3cache-bench-index", description = "Scratch space (default ${DEFAULT-VALUE})")
  Path workDir;

  @Option(names = "--blocks", defaultValue = "100000", description = "Blocks in the cache (default ${DEFAULT-VALUE}; about 4 KiB of disk each)")
  int blocks;

  @Option(names = "--runs", defaultValue = "3", description = "Mounts per state, best taken (default ${DEFAULT-VALUE})")
  int runs;

  @Option(names = "--keep", description = "Keep the work dir afterwards")
  boolean keep;

  @Override
  public Integer call() throws Exception {
    if (blocks < 1 || runs < 1) {
      throw new io.s3cache.config.ConfigException("--blocks and --runs must be at least 1");
    }
    new IndexStartupBenchmark(new IndexStartupBenchmark.Options(workDir.toAbsolutePath(), blocks, runs, keep)).run();
    return 0;
  }
}
