package io.s3cache.testing.data;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A generated dataset shaped like a training set: a few large shard files and thousands of small
 * "images". Content is pseudo-random from a seed, so every byte can be re-derived and checked.
 */
public final class SampleDataset {

  /** One object of the dataset and the SHA-256 of its content. */
  public record Item(String key, long size, String sha256) {}

  private final List<Item> items;

  private SampleDataset(List<Item> items) {
    this.items = List.copyOf(items);
  }

  public List<Item> items() {
    return items;
  }

  public long totalBytes() {
    return items.stream().mapToLong(Item::size).sum();
  }

  /**
   * Uploads {@code largeFiles} files of {@code largeSize} bytes under "shards/" and {@code smallFiles}
   * files of 20–180 KiB spread over 10 class directories under "images/".
   */
  public static SampleDataset upload(S3Client s3, String bucket, String prefix, int largeFiles, long largeSize,
      int smallFiles, long seed) throws Exception {
    List<Item> items = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<Item>> pending = new ArrayList<>();
      SplittableRandom sizes = new SplittableRandom(seed);
      for (int i = 0; i < largeFiles; i++) {
        String key = prefix + String.format("shards/shard-%03d.bin", i);
        long s = seed * 31 + i;
        pending.add(pool.submit(() -> put(s3, bucket, key, largeSize, s)));
      }
      for (int i = 0; i < smallFiles; i++) {
        String key = prefix + String.format("images/class-%02d/img-%05d.jpg", i % 10, i);
        long size = 20 * 1024 + sizes.nextLong(160 * 1024 + 1);
        long s = seed * 1_000_003 + i;
        pending.add(pool.submit(() -> put(s3, bucket, key, size, s)));
      }
      for (Future<Item> f : pending) {
        items.add(f.get());
      }
    } finally {
      pool.shutdownNow();
    }
    return new SampleDataset(items);
  }

  private static Item put(S3Client s3, String bucket, String key, long size, long seed) throws Exception {
    byte[] content = content(size, seed);
    s3.putObject(b -> b.bucket(bucket).key(key), RequestBody.fromBytes(content));
    return new Item(key, size, sha256(content));
  }

  /** Deterministic pseudo-random bytes. Large objects are made here once, on the heap, only for upload. */
  public static byte[] content(long size, long seed) {
    if (size > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("object too large for the sample generator: " + size);
    }
    byte[] bytes = new byte[(int) size];
    SplittableRandom random = new SplittableRandom(seed);
    ByteBuffer buf = ByteBuffer.wrap(bytes);
    while (buf.remaining() >= 8) {
      buf.putLong(random.nextLong());
    }
    while (buf.hasRemaining()) {
      buf.put((byte) random.nextInt());
    }
    return bytes;
  }

  public static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
