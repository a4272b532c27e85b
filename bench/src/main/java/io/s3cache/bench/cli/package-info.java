/**
 * The subcommands of {@code bin/s3cache} that run from a source checkout only: {@code demo},
 * {@code bench}, {@code bench-index}, {@code bench-write} and {@code gen-dataset}, and their entry
 * ({@link io.s3cache.bench.cli.S3cacheBenchCli}) which adds them to the product's CLI.
 */
package io.s3cache.bench.cli;
