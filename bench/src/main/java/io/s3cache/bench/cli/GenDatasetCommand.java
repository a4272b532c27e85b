package io.s3cache.bench.cli;

import io.s3cache.config.ByteSize;
import io.s3cache.config.ConfigException;
import io.s3cache.s3.ObjectClients;
import io.s3cache.s3.S3Config;
import io.s3cache.testing.data.ImageDatasetGenerator;
import java.net.URI;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * {@code s3cache gen-dataset s3://BUCKET/PREFIX --images N --size 100KiB --classes C}: writes a
 * learnable synthetic image-classification dataset (class directories plus labels.csv) into a
 * bucket, with the SDK's default credential chain.
 */
@Command(mixinStandardHelpOptions = true, name = "gen-dataset",
    description = "Write a synthetic image-classification dataset (PREFIX/class_CC/img_N.jpg and PREFIX/labels.csv) into a bucket.")
final class GenDatasetCommand implements Callable<Integer> {

  @Parameters(paramLabel = "s3://BUCKET/PREFIX")
  String target;

  @Option(names = "--images", required = true, description = "Number of images")
  int images;

  @Option(names = "--size", defaultValue = "100KiB", description = "Target size of one image, e.g. ~100KiB (default ${DEFAULT-VALUE})")
  String size;

  @Option(names = "--classes", defaultValue = "10", description = "Number of classes, 2..1000 (default ${DEFAULT-VALUE})")
  int classes;

  @Option(names = "--format", defaultValue = "jpeg", description = "jpeg or png (default ${DEFAULT-VALUE})")
  String format;

  @Option(names = "--seed", defaultValue = "1", description = "Random seed (default ${DEFAULT-VALUE})")
  long seed;

  @Option(names = "--parallel", defaultValue = "16", description = "Concurrent uploads (default ${DEFAULT-VALUE})")
  int parallel;

  @Option(names = "--endpoint", description = "S3-compatible endpoint URL, e.g. http://127.0.0.1:9000")
  String endpoint;

  @Option(names = "--region", description = "Region (default us-east-1)")
  String region;

  @Option(names = "--path-style", description = "Path-style requests (MinIO, S3Proxy); on by default with --endpoint")
  Boolean pathStyle;

  @Override
  public Integer call() throws Exception {
    if (!target.startsWith("s3://") || target.length() <= 5 || target.charAt(5) == '/') {
      throw new ConfigException("invalid target '" + target + "': expected s3://BUCKET[/PREFIX]");
    }
    String rest = target.substring(5);
    int slash = rest.indexOf('/');
    String bucket = slash < 0 ? rest : rest.substring(0, slash);
    String prefix = slash < 0 ? "" : rest.substring(slash + 1);
    if (!prefix.isEmpty() && !prefix.endsWith("/")) {
      prefix += "/";
    }
    if (images < 1 || images > 100_000_000) {
      throw new ConfigException("invalid --images " + images + ": expected 1 to 100000000");
    }
    if (parallel < 1 || parallel > 256) {
      throw new ConfigException("invalid --parallel " + parallel + ": expected 1 to 256");
    }
    ImageDatasetGenerator.Format fmt = switch (format.toLowerCase(Locale.ROOT)) {
      case "jpeg", "jpg" -> ImageDatasetGenerator.Format.JPEG;
      case "png" -> ImageDatasetGenerator.Format.PNG;
      default -> throw new ConfigException("invalid --format '" + format + "': expected jpeg or png");
    };
    long bytes = ByteSize.parse("--size", size.startsWith("~") ? size.substring(1) : size);
    ImageDatasetGenerator generator;
    try {
      generator = new ImageDatasetGenerator(classes, bytes, fmt, seed);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(e.getMessage());
    }
    S3Config config = S3Config.defaults();
    if (endpoint != null) {
      try {
        config = config.withEndpoint(URI.create(endpoint)).withPathStyle(true)
            .withChecksumMode(S3Config.ChecksumMode.WHEN_REQUIRED);
      } catch (IllegalArgumentException e) {
        throw new ConfigException("invalid --endpoint '" + endpoint + "': " + e.getMessage());
      }
    }
    if (pathStyle != null) {
      config = config.withPathStyle(pathStyle);
    }
    if (region != null) {
      config = config.withRegion(region);
    }
    long start = System.nanoTime();
    ImageDatasetGenerator.Result result;
    try (S3Client s3 = ObjectClients.sdkClient(config, null)) {
      result = generator.upload(s3, bucket, prefix, images, parallel);
    } catch (software.amazon.awssdk.core.exception.SdkException e) {
      throw new java.io.IOException("writing to s3://" + bucket + "/" + prefix + " failed: " + e.getMessage(), e);
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    System.out.printf(Locale.ROOT, "wrote %d images (%d classes, %dx%d %s, %s in all, %s each on average) and labels.csv to s3://%s/%s in %.1f s%n",
        result.images(), classes, result.side(), result.side(), fmt.name().toLowerCase(Locale.ROOT),
        ByteSize.format(result.bytes()), ByteSize.format(result.bytes() / result.images()), bucket, prefix, seconds);
    return 0;
  }
}
