package io.s3cache.bench;

import io.s3cache.testing.data.PageCache;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The set-up every benchmark begins with: root (to drop the page cache between passes) and its scratch dir. */
public final class WorkDir {

  private WorkDir() {}

  /** Checks the page cache can be dropped (root), then creates and returns {@code dir}. */
  public static Path prepare(Path dir) throws IOException {
    if (!PageCache.drop()) {
      throw new IllegalStateException("the benchmark must run as root: it drops the kernel page cache between passes");
    }
    return Files.createDirectories(dir);
  }
}
