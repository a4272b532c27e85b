package io.s3cache.fuse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A filesystem with nothing to flush ({@link Filesystem#flushes} false, a read-only mount) gets no
 * flush at all over a real mount: the kernel stops sending them after the adapter's first ENOSYS,
 * so a close(2) waits for no round trip; one that flushes gets one per close.
 */
@Timeout(60)
class FlushTest {

  private static final byte[] DATA = "flushed or not\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  @TempDir Path dir;

  /** One file, /f; counts flushes. */
  private static final class OneFile implements TestFilesystem {
    final boolean flushes;
    final AtomicInteger flushCalls = new AtomicInteger();
    final AtomicInteger releases = new AtomicInteger();

    OneFile(boolean flushes) {
      this.flushes = flushes;
    }

    @Override
    public FileAttributes getattr(String path) throws FsException {
      if (path.equals("/")) {
        return new FileAttributes(FileAttributes.Type.DIRECTORY, 0, Instant.EPOCH, 0555, 0, 0, 1);
      }
      if (path.equals("/f")) {
        return new FileAttributes(FileAttributes.Type.FILE, DATA.length, Instant.EPOCH, 0444, 0, 0, 2);
      }
      throw new FsException(Errno.ENOENT, path);
    }

    @Override
    public List<DirEntry> readdir(String path) throws FsException {
      return List.of(new DirEntry("f", getattr("/f")));
    }

    @Override
    public OpenFile open(String path, OpenFlags flags) throws FsException {
      getattr(path);
      return new OpenFile(7, true, false);
    }

    @Override
    public int read(long handle, long offset, ByteBuffer dst) {
      int n = (int) Math.max(0, Math.min(dst.remaining(), DATA.length - offset));
      dst.put(DATA, (int) Math.min(offset, DATA.length), n);
      return n;
    }

    @Override
    public boolean flushes() {
      return flushes;
    }

    @Override
    public void flush(long handle) {
      flushCalls.incrementAndGet();
    }

    @Override
    public void release(long handle) {
      releases.incrementAndGet();
    }
  }

  private int flushesAfterFiveCloses(boolean flushes) throws Exception {
    assumeTrue(Files.exists(Path.of("/dev/fuse")), "no /dev/fuse on this machine");
    Path mnt = Files.createDirectory(dir.resolve("mnt-" + flushes));
    OneFile fs = new OneFile(flushes);
    FuseMount mount;
    try {
      mount = FuseMount.mount(fs, mnt, List.of("ro"), OperationObserver.NONE, Duration.ofSeconds(30));
    } catch (MountException e) {
      assumeTrue(false, "cannot mount here: " + e.getMessage());
      return -1;
    }
    try {
      for (int i = 0; i < 5; i++) {
        assertArrayEquals(DATA, Files.readAllBytes(mnt.resolve("f")), "close succeeds either way");
      }
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (fs.releases.get() < 5 && System.nanoTime() < deadline) {
        Thread.sleep(10); // release comes after close returned
      }
      assertEquals(5, fs.releases.get());
    } finally {
      mount.close();
    }
    return fs.flushCalls.get();
  }

  @Test
  void aFilesystemWithNothingToFlushGetsNoFlushes() throws Exception {
    assertEquals(0, flushesAfterFiveCloses(false));
  }

  @Test
  void aFilesystemThatFlushesGetsOnePerClose() throws Exception {
    assertEquals(5, flushesAfterFiveCloses(true));
  }
}
