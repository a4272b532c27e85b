package io.s3cache.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The benchmark's bytes: one large file and many small ones, written to a local directory and
 * uploaded unchanged to the bucket, so every target reads the same content under the same names.
 */
final class BenchData {

  final Path localRoot;
  final List<String> smallFiles;

  private BenchData(Path localRoot, List<String> smallFiles) {
    this.localRoot = localRoot;
    this.smallFiles = smallFiles;
  }

  static BenchData create(Path localRoot, long bigSize, int smallCount, long seed) throws IOException {
    SplittableRandom random = new SplittableRandom(seed);
    Files.createDirectories(localRoot);
    write(localRoot.resolve("big.bin"), bigSize, random.split());
    return new BenchData(localRoot, writeFiles(localRoot, "small", smallCount, 20 * 1024, 180 * 1024, random));
  }

  /**
   * Writes {@code count} files of {@code min}..{@code max} bytes (uniform) under {@code root/prefix},
   * spread over 20 directories, and returns their names relative to {@code root}.
   */
  static List<String> writeFiles(Path root, String prefix, int count, int min, int max, SplittableRandom random)
      throws IOException {
    List<String> names = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String name = String.format("%s/d%02d/f%05d.jpg", prefix, i % 20, i);
      Files.createDirectories(root.resolve(name).getParent());
      write(root.resolve(name), min + random.nextInt(max - min + 1), random.split());
      names.add(name);
    }
    return names;
  }

  private static void write(Path file, long size, SplittableRandom random) throws IOException {
    byte[] chunk = new byte[(int) Math.min(size, 8 << 20)];
    ByteBuffer view = ByteBuffer.wrap(chunk);
    try (OutputStream out = Files.newOutputStream(file)) {
      for (long left = size; left > 0; ) {
        view.clear();
        while (view.remaining() >= 8) {
          view.putLong(random.nextLong());
        }
        int n = (int) Math.min(left, chunk.length);
        out.write(chunk, 0, n);
        left -= n;
      }
    }
  }

  void upload(S3Client s3, String bucket) throws Exception {
    s3.putObject(b -> b.bucket(bucket).key("big.bin"), RequestBody.fromFile(localRoot.resolve("big.bin")));
    upload(s3, bucket, localRoot, smallFiles);
  }

  /** Uploads {@code root/name} as key {@code name} for each name, 8 at once. */
  static void upload(S3Client s3, String bucket, Path root, List<String> names) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> puts = new ArrayList<>();
      for (String name : names) {
        puts.add(pool.submit(() ->
            s3.putObject(b -> b.bucket(bucket).key(name), RequestBody.fromFile(root.resolve(name)))));
      }
      for (Future<?> f : puts) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /** {@code names} under {@code root}, in one fixed shuffled order (like an image dataset's epoch). */
  static List<Path> shuffled(Path root, List<String> names) {
    List<Path> files = new ArrayList<>(names.stream().map(root::resolve).toList());
    Collections.shuffle(files, new Random(7));
    return files;
  }

  /** The small files under {@code root}, in one fixed shuffled order (like an image dataset's epoch). */
  List<Path> shuffledSmall(Path root) {
    return shuffled(root, smallFiles);
  }

  /** Deletes {@code dir} and everything under it; nothing if it does not exist. */
  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }}
