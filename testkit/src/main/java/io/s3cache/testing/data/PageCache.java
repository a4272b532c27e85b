package io.s3cache.testing.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Drops the kernel page cache (root only), so a read measures s3cache's tiers rather than the kernel's. */
public final class PageCache {

  private static final Path DROP = Path.of("/proc/sys/vm/drop_caches");

  private PageCache() {}

  /** Returns false when not permitted (not root, or in a container that forbids it). */
  public static boolean drop() {
    try {
      new ProcessBuilder("sync").inheritIO().start().waitFor();
      Files.writeString(DROP, "3\n");
      return true;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
