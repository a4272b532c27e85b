package io.s3cache.bench;

import io.s3cache.testing.data.PageCache;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Timed reads, the same way for every filesystem measured, so ratios compare like with like: large
 * files by dd, small files by one Python reader, random reads by fio, each in a process of its own.
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

  private Measure() {}

  /** One timed pass of a reader. */
  interface Pass {
    Result once() throws Exception;
  }

  /** {@code pass} after dropping the kernel's page cache (a cold or warm read, not a page-cache one). */
  static Result dropped(Pass pass) throws Exception {
    PageCache.drop();
    return pass.once();
  }

  /** Repeatable states: the best of {@code repeat} passes (single runs on a shared machine vary by 20% or more). */
  static Result best(int repeat, Pass pass) throws Exception {
    Result best = null;
    for (int i = 0; i < repeat; i++) {
      Result r = pass.once();
      if (best == null || r.nanos() < best.nanos()) {
        best = r;
      }
    }
    return best;
  }

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

  /**
   * Each file opened, read whole (1 MiB reads) and closed, in the given order, by one Python reader
   * in a process of its own (as a data loader worker reads); timed inside the reader, so the
   * interpreter's start is not counted.
   */
  static Result files(List<Path> files) throws IOException {
    Path list = Files.createTempFile("s3cache-bench-files", ".txt");
    try {
      Files.write(list, files.stream().map(Path::toString).toList());
      String out = Commands.stdout(List.of("python3", "-c", PYTHON_READER, list.toString()), "python3 reader");
      String[] f = out.strip().split("\\s+");
      return new Result(Long.parseLong(f[0]), Long.parseLong(f[1]), Long.parseLong(f[2]));
    } finally {
      Files.deleteIfExists(list);
    }
  }

  private static final String PYTHON_READER = String.join("\n",
      "import sys, time",
      "paths = open(sys.argv[1]).read().split('\\n')",
      "paths = [p for p in paths if p]",
      "buf = bytearray(1 << 20)",
      "total = 0",
      "start = time.perf_counter_ns()",
      "for p in paths:",
      "    with open(p, 'rb', buffering=0) as f:",
      "        while True:",
      "            n = f.readinto(buf)",
      "            if not n:",
      "                break",
      "            total += n",
      "print(len(paths), total, time.perf_counter_ns() - start)",
      "");

  /** IOPS and p99 completion latency of one fio job. */
  record Fio(double iops, double p99Millis) {}

  /**
   * {@code fio} random reads of {@code file}: {@code jobs} jobs of {@code bs}-byte {@code pread}s for
   * {@code seconds}, buffered (the page cache is the caller's to drop first), as a user would run it.
   */
  static Fio fio(Path file, int bs, int jobs, int seconds) throws IOException {
    String json = Commands.stdout(List.of("fio", "--name=randread", "--filename=" + file, "--rw=randread", "--bs=" + bs,
        "--numjobs=" + jobs, "--time_based", "--runtime=" + seconds, "--ioengine=psync", "--readonly",
        "--invalidate=0", "--group_reporting", "--output-format=json"), "fio");
    return parseFio(json);
  }

  static Fio parseFio(String json) throws IOException {
    var read = new com.fasterxml.jackson.databind.ObjectMapper()
        .readTree(json.substring(json.indexOf('{'))).path("jobs").path(0).path("read");
    return new Fio(read.path("iops").asDouble(), read.path("clat_ns").path("percentile").path("99.000000").asDouble() / 1e6);
  }
}
