package io.s3cache.cache;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** What a directory tree really occupies, measured two ways. */
final class DiskUsage {
  private DiskUsage() {}

  /** {@code du -s -B1 dir}: allocated bytes, as an operator would measure the cache. */
  static long du(Path dir) {
    try {
      Process p = new ProcessBuilder("du", "-s", "-B1", dir.toString())
          .redirectError(ProcessBuilder.Redirect.DISCARD)
          .start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      p.waitFor();
      // du may complain about files deleted under it (exit 1) but still prints the total.
      return Long.parseLong(out.trim().split("\\s+")[0]);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Sum of roundUp(size, 4096) over files plus 4096 per directory. */
  static long rounded(Path dir) {
    try (Stream<Path> all = Files.walk(dir)) {
      return all.mapToLong(p -> {
        try {
          return Files.isDirectory(p) ? 4096 : (Files.size(p) + 4095) / 4096 * 4096;
        } catch (IOException gone) {
          return 0;
        }
      }).sum();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
