package io.s3cache.bench.cli;

import io.s3cache.cli.S3cacheCli;
import java.util.List;

/**
 * {@code bin/s3cache} in a source checkout for {@code demo}, {@code bench}, {@code bench-index},
 * {@code bench-write}, {@code bench-client}, {@code bench-torch} and {@code gen-dataset}: the product's CLI with these commands in place of
 * its stand-ins, so options, errors and exit codes are the product's.
 */
public final class S3cacheBenchCli {

  private S3cacheBenchCli() {}

  public static void main(String[] args) {
    System.exit(S3cacheCli.run(List.of(new DemoCommand(), new BenchCommand(), new BenchIndexCommand(),
        new BenchWriteCommand(), new BenchClientCommand(), new BenchTorchCommand(), new GenDatasetCommand()), args));
  }
}
