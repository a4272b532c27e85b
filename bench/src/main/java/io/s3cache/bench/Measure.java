package io.s3cache.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;

/**
 * Timed reads, the same way for every filesystem measured, so ratios compare like with like: large
 * files by dd in its own process, small files by one reader thread here (a process per file would
 * measure process start-up).
 */
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

  /**
   * One sequential pass over a file by {@code dd bs=1M} in a process of its own, as a training job
   * reads: a reader inside this JVM would share it with the FUSE server and the S3 server, and its
   * pauses would count against the filesystem.
   */
  static Result sequential(Path file) throws IOException {
    long size = java.nio.file.Files.size(file);
    long start = System.nanoTime();
    Process dd = new ProcessBuilder("dd", "if=" + file, "of=/dev/null", "bs=1M")
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    try {
      if (dd.waitFor() != 0) {
        throw new IOException("dd of " + file + " failed with status " + dd.exitValue());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted reading " + file);
    }
    return new Result(1, size, System.nanoTime() - start);
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
