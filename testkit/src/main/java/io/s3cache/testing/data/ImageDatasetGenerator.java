package io.s3cache.testing.data;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Writes a learnable synthetic image-classification dataset into a bucket: {@code
 * PREFIX/class_CC/img_NNNNNN.jpg} (an image-folder layout) and {@code PREFIX/labels.csv}
 * ({@code path,label} per image, paths relative to the prefix).
 *
 * <p>Each class has a hue and a stripe pattern (orientation and frequency) of its own; every image
 * adds a random phase, brightness and per-pixel noise, so a small model learns the classes in an
 * epoch or two while no two images are alike. The side length is calibrated once so that an
 * encoded image comes near the target size (noise keeps JPEG from compressing it away).
 */
public final class ImageDatasetGenerator {

  public enum Format {
    JPEG("jpg"),
    PNG("png");

    final String extension;

    Format(String extension) {
      this.extension = extension;
    }
  }

  /** What was written. */
  public record Result(int images, long bytes, int side, List<String> keys) {}

  private final int classes;
  private final long targetBytes;
  private final Format format;
  private final long seed;

  public ImageDatasetGenerator(int classes, long targetBytes, Format format, long seed) {
    if (classes < 2 || classes > 1000) {
      throw new IllegalArgumentException("classes must be from 2 to 1000, got " + classes);
    }
    if (targetBytes < 512 || targetBytes > (64L << 20)) {
      throw new IllegalArgumentException("image size must be from 512 B to 64 MiB, got " + targetBytes);
    }
    this.classes = classes;
    this.targetBytes = targetBytes;
    this.format = format;
    this.seed = seed;
  }

  /** The label of image {@code i}: classes take turns, so every class has its share. */
  public int label(int i) {
    return i % classes;
  }

  /** The key of image {@code i} under {@code prefix} ("" or ending in "/"). */
  public String key(String prefix, int i) {
    return prefix + relativePath(i);
  }

  /** The path of image {@code i} relative to the prefix: {@code class_CC/img_NNNNNN.EXT}. */
  public String relativePath(int i) {
    return String.format(Locale.ROOT, "class_%02d/img_%06d.%s", label(i), i, format.extension);
  }

  /** Uploads {@code images} images and labels.csv with {@code parallel} PUTs at a time. */
  public Result upload(S3Client s3, String bucket, String prefix, int images, int parallel)
      throws IOException, InterruptedException {
    if (images < 1) {
      throw new IllegalArgumentException("images must be >= 1, got " + images);
    }
    int side = calibrateSide();
    AtomicLong bytes = new AtomicLong();
    ExecutorService pool = Executors.newFixedThreadPool(parallel);
    try {
      List<Future<?>> pending = new ArrayList<>();
      for (int i = 0; i < images; i++) {
        int n = i;
        pending.add(pool.submit(() -> {
          byte[] data = encode(image(n, side));
          s3.putObject(b -> b.bucket(bucket).key(key(prefix, n)), RequestBody.fromBytes(data));
          bytes.addAndGet(data.length);
          return null;
        }));
      }
      for (Future<?> f : pending) {
        try {
          f.get();
        } catch (java.util.concurrent.ExecutionException e) {
          Throwable c = e.getCause();
          throw new IOException("uploading the dataset failed: " + c.getMessage(), c);
        }
      }
    } finally {
      pool.shutdownNow();
    }
    StringBuilder csv = new StringBuilder();
    List<String> keys = new ArrayList<>(images);
    for (int i = 0; i < images; i++) {
      csv.append(relativePath(i)).append(',').append(label(i)).append('\n');
      keys.add(key(prefix, i));
    }
    s3.putObject(b -> b.bucket(bucket).key(prefix + "labels.csv"),
        RequestBody.fromString(csv.toString(), StandardCharsets.UTF_8));
    return new Result(images, bytes.get(), side, keys);
  }

  /** A side length whose encoded image comes within ~15% of the target (three tries at most). */
  public int calibrateSide() {
    int side = (int) Math.max(8, Math.min(4096, Math.sqrt(targetBytes / (format == Format.PNG ? 2.5 : 1.0))));
    for (int attempt = 0; attempt < 3; attempt++) {
      long size = encode(image(0, side)).length;
      double ratio = targetBytes / (double) size;
      if (ratio > 0.85 && ratio < 1.15) {
        break;
      }
      side = (int) Math.max(8, Math.min(4096, Math.round(side * Math.sqrt(ratio))));
    }
    return side;
  }

  /** Image {@code i}: its class's hue and stripes, a random phase and brightness, noise. */
  BufferedImage image(int i, int side) {
    int c = label(i);
    SplittableRandom rnd = new SplittableRandom(seed * 1_000_003L + i);
    float hue = c / (float) classes;
    double angle = Math.PI * (c % 4) / 4;
    double frequency = 2 + (c / 4) % 4 * 2; // stripes across the image
    double phase = rnd.nextDouble(2 * Math.PI);
    float brightness = 0.65f + (float) rnd.nextDouble(0.3);
    double dx = Math.cos(angle) * frequency * 2 * Math.PI / side;
    double dy = Math.sin(angle) * frequency * 2 * Math.PI / side;
    BufferedImage img = new BufferedImage(side, side, BufferedImage.TYPE_INT_RGB);
    // The colour depends only on the wave's value: a table of 1024 levels (finer than 8-bit
    // channels) instead of HSBtoRGB per pixel; pixels go straight into the raster (setRGB per pixel
    // goes through the colour model). Together they made generation ~3x faster.
    int[] colours = new int[LEVELS + 1];
    for (int v = 0; v <= LEVELS; v++) {
      colours[v] = java.awt.Color.HSBtoRGB(hue, 0.8f, (float) (brightness * (0.35 + 0.65 * v / (double) LEVELS)));
    }
    int[] pixels = ((java.awt.image.DataBufferInt) img.getRaster().getDataBuffer()).getData();
    for (int y = 0; y < side; y++) {
      for (int x = 0; x < side; x++) {
        double wave = 0.5 + 0.5 * Math.sin(x * dx + y * dy + phase);
        int rgb = colours[(int) Math.round(wave * LEVELS)];
        int r = clamp(((rgb >> 16) & 0xff) + rnd.nextInt(-40, 41));
        int g = clamp(((rgb >> 8) & 0xff) + rnd.nextInt(-40, 41));
        int b = clamp((rgb & 0xff) + rnd.nextInt(-40, 41));
        pixels[y * side + x] = (r << 16) | (g << 8) | b;
      }
    }
    return img;
  }

  /** Image {@code i} at {@code side} x {@code side}, encoded (what {@link #upload} stores). */
  public byte[] encoded(int i, int side) {
    return encode(image(i, side));
  }

  byte[] encode(BufferedImage img) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      if (format == Format.PNG) {
        ImageIO.write(img, "png", out);
        return out.toByteArray();
      }
      ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
      try (MemoryCacheImageOutputStream stream = new MemoryCacheImageOutputStream(out)) {
        writer.setOutput(stream);
        ImageWriteParam param = writer.getDefaultWriteParam();
        param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
        param.setCompressionQuality(0.9f);
        writer.write(null, new IIOImage(img, null, null), param);
      } finally {
        writer.dispose();
      }
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException("encoding an image in memory failed", e);
    }
  }

  private static final int LEVELS = 1024;

  private static int clamp(int v) {
    return Math.max(0, Math.min(255, v));
  }
}
