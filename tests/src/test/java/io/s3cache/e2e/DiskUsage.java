package io.s3cache.e2e;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** Space a directory tree occupies on disk, as du counts it (allocated blocks, directories included). */
final class DiskUsage {
  private DiskUsage() {}

  static long of(Path dir) throws Exception {
    Process p = new ProcessBuilder("du", "-s", "-B1", dir.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    p.waitFor();
    // du may complain about a file deleted while it walked; the total line is still last.
    String[] lines = out.split("\n");
    return Long.parseLong(lines[lines.length - 1].split("\\s+")[0]);
  }
}
