package io.s3cache.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;

/** Timed reads, the same code for every filesystem measured, so ratios compare like with like. */
final class Measure {

  /** Bytes read and time taken by one measurement. */
  record Result(long files, long bytes, long nanos) {
    double mbPerSecond() {
      return bytes / 1e6 / seconds();
    }

    double filesPerSecond() {
      return files / seconds();
    }

    double seconds() {
      return nanos / 1e9;
    }
  }

  private static final ByteBuffer BUFFER = ByteBuffer.allocateDirect(1 << 20);

  private Measure() {}

  /** One sequential pass over a file with 1 MiB reads (like dd bs=1M). */
  static Result sequential(Path file) throws IOException {
    long start = System.nanoTime();
    long bytes = readWhole(file);
    return new Result(1, bytes, System.nanoTime() - start);
  }

  /** Each file opened, read whole and closed, in the given order, by one reader. */
  static Result files(List<Path> files) throws IOException {
    long start = System.nanoTime();
    long bytes = 0;
    for (Path f : files) {
      bytes += readWhole(f);
    }
    return new Result(files.size(), bytes, System.nanoTime() - start);
  }

  private static long readWhole(Path file) throws IOException {
    long total = 0;
    try (FileChannel ch = FileChannel.open(file)) {
      for (int n; (n = ch.read(BUFFER.clear())) >= 0; ) {
        total += n;
      }
    }
    return total;
  }
}
