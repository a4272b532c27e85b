package io.s3cache.testing.data;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/** Reads every file under a directory with N parallel readers, as a data loader's workers would. */
public final class TreeReader {

  /** What one pass read, and how long it took. */
  public record Pass(long files, long bytes, long nanos) {
    public double mibPerSecond() {
      return bytes / 1048576.0 / (nanos / 1e9);
    }

    public double filesPerSecond() {
      return files / (nanos / 1e9);
    }
  }

  private TreeReader() {}

  public static List<Path> files(Path root) throws IOException {
    try (Stream<Path> walk = Files.walk(root)) {
      return walk.filter(Files::isRegularFile).sorted().toList();
    }
  }

  /** Reads each file whole with 1 MiB reads; returns counts and elapsed time. */
  public static Pass readAll(List<Path> files, int threads) throws Exception {
    AtomicLong bytes = new AtomicLong();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    long start = System.nanoTime();
    try {
      List<Future<Long>> done = new java.util.ArrayList<>();
      for (Path f : files) {
        done.add(pool.submit(() -> bytes.addAndGet(read(f, null))));
      }
      for (Future<Long> f : done) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    return new Pass(files.size(), bytes.get(), System.nanoTime() - start);
  }

  /** SHA-256 (hex) of a file read through the filesystem. */
  public static String sha256(Path file) throws IOException {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    read(file, digest);
    return HexFormat.of().formatHex(digest.digest());
  }

  private static final ThreadLocal<ByteBuffer> BUFFERS = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(1 << 20));

  private static long read(Path file, MessageDigest digest) throws IOException {
    ByteBuffer buf = BUFFERS.get();
    long total = 0;
    try (FileChannel ch = FileChannel.open(file)) {
      while (true) {
        buf.clear();
        int n = ch.read(buf);
        if (n < 0) {
          return total;
        }
        total += n;
        if (digest != null) {
          buf.flip();
          digest.update(buf);
        }
      }
    }
  }
}
