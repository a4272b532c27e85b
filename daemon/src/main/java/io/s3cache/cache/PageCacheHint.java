package io.s3cache.cache;

import java.nio.file.Path;
import jnr.ffi.LibraryLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks the kernel to start reading a block file into its page cache ({@code posix_fadvise(...,
 * POSIX_FADV_WILLNEED)}) without waiting for it: read-ahead over disk-tier hits, so a sequential
 * reader served from the disk tier finds the next blocks' bytes in memory instead of waiting on
 * the device one 128 KiB request at a time. Java has no fadvise; libc is called through jnr-ffi
 * (already loaded for FUSE). Where libc cannot be bound, hints do nothing (logged once).
 */
final class PageCacheHint {

  /** The three libc calls used; {@code posix_fadvise} returns an errno, not -1. */
  public interface LibC {
    int open(String path, int flags);

    int posix_fadvise(int fd, long offset, long length, int advice);

    int close(int fd);
  }

  private static final Logger LOG = LoggerFactory.getLogger(PageCacheHint.class);
  private static final int O_RDONLY = 0;
  private static final int O_NOFOLLOW = 0400000; // Linux
  private static final int O_CLOEXEC = 02000000; // Linux
  private static final int POSIX_FADV_WILLNEED = 3; // Linux

  private static final LibC LIBC = load();

  private PageCacheHint() {}

  private static LibC load() {
    try {
      return LibraryLoader.create(LibC.class).load("c");
    } catch (RuntimeException | LinkageError e) {
      LOG.info("page-cache hints for the disk tier are off: cannot bind libc ({})", e.toString());
      return null;
    }
  }

  /**
   * Starts reading {@code [offset, offset + length)} of {@code file} into the page cache. Returns
   * at once; a missing file (evicted meanwhile) or any failure is ignored: a hint is never needed.
   */
  static void willNeed(Path file, long offset, long length) {
    if (LIBC == null) {
      return;
    }
    int fd = LIBC.open(file.toString(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      return;
    }
    try {
      LIBC.posix_fadvise(fd, offset, length, POSIX_FADV_WILLNEED);
    } finally {
      LIBC.close(fd);
    }
  }
}
