package io.s3cache.fuse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The FUSE session served by {@link FuseWorkers}' fixed set of Java threads, over a real mount:
 * more requests blocked at once than there are workers wait in the kernel's queue and are all
 * served once workers come free (no deadlock, no lost request), callbacks run on the workers
 * (Java threads, so the JVM never attaches a native one), and an unmount ends every worker.
 */
@Timeout(120)
class FuseWorkersTest {

  private static final int FILES = FuseWorkers.WORKERS + 16;
  private static final int SIZE = 4096;

  @TempDir Path dir;

  /** Files f0..fN-1 of SIZE bytes; every read waits at a gate and counts who is inside. */
  private static final class GatedFs implements TestFilesystem {
    final CountDownLatch gate = new CountDownLatch(1);
    final AtomicInteger inside = new AtomicInteger();
    final AtomicInteger mostInside = new AtomicInteger();
    final AtomicInteger notWorkers = new AtomicInteger();

    private static FileAttributes file(int i) {
      return new FileAttributes(FileAttributes.Type.FILE, SIZE, Instant.EPOCH, 0444, 0, 0, 10 + i);
    }

    private static int index(String path) throws FsException {
      try {
        int i = Integer.parseInt(path.substring(2));
        if (path.startsWith("/f") && i >= 0 && i < FILES) {
          return i;
        }
      } catch (NumberFormatException | IndexOutOfBoundsException e) {
        // not one of ours
      }
      throw new FsException(Errno.ENOENT, path);
    }

    @Override
    public FileAttributes getattr(String path) throws FsException {
      if (path.equals("/")) {
        return new FileAttributes(FileAttributes.Type.DIRECTORY, 0, Instant.EPOCH, 0555, 0, 0, 1);
      }
      return file(index(path));
    }

    @Override
    public List<DirEntry> readdir(String path) {
      List<DirEntry> entries = new ArrayList<>();
      for (int i = 0; i < FILES; i++) {
        entries.add(new DirEntry("f" + i, file(i)));
      }
      return entries;
    }

    @Override
    public OpenFile open(String path, OpenFlags flags) throws FsException {
      return new OpenFile(index(path), false, true); // direct_io: each read is a request of its own
    }

    @Override
    public int read(long handle, long offset, ByteBuffer dst) throws FsException {
      if (!Thread.currentThread().getName().startsWith("fuse-")) {
        notWorkers.incrementAndGet();
      }
      int now = inside.incrementAndGet();
      mostInside.accumulateAndGet(now, Math::max);
      try {
        if (!gate.await(60, TimeUnit.SECONDS)) {
          throw new FsException(Errno.EIO, "gate never opened");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new FsException(Errno.EIO, "interrupted");
      } finally {
        inside.decrementAndGet();
      }
      int n = (int) Math.max(0, Math.min(dst.remaining(), SIZE - offset));
      for (int k = 0; k < n; k++) {
        dst.put((byte) (handle + offset + k));
      }
      return n;
    }

    @Override
    public void release(long handle) {}

    @Override
    public FsStatistics statfs(String path) {
      return new FsStatistics(4096, 1, 0, FILES, 0, 255);
    }
  }

  @Test
  void moreBlockedRequestsThanWorkersAreAllServedAndUnmountEndsTheWorkers() throws Exception {
    assumeTrue(Files.exists(Path.of("/dev/fuse")), "no /dev/fuse on this machine");
    Path mnt = Files.createDirectory(dir.resolve("mnt"));
    GatedFs fs = new GatedFs();
    FuseMount mount;
    try {
      mount = FuseMount.mount(fs, mnt, List.of("ro", "attr_timeout=0", "entry_timeout=0"),
          OperationObserver.NONE, Duration.ofSeconds(30));
    } catch (MountException e) {
      assumeTrue(false, "cannot mount here: " + e.getMessage());
      return;
    }
    ExecutorService readers = Executors.newFixedThreadPool(FILES);
    try {
      List<Future<byte[]>> reads = new ArrayList<>();
      for (int i = 0; i < FILES; i++) {
        Path f = mnt.resolve("f" + i);
        reads.add(readers.submit(() -> Files.readAllBytes(f)));
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (fs.inside.get() < FuseWorkers.WORKERS && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      Thread.sleep(300); // any request beyond the workers would have come in by now
      assertEquals(FuseWorkers.WORKERS, fs.inside.get(), "every worker is blocked in a read");
      assertEquals(FuseWorkers.WORKERS, fs.mostInside.get(), "no more reads at once than workers");
      fs.gate.countDown();
      for (int i = 0; i < FILES; i++) {
        byte[] expected = new byte[SIZE];
        for (int k = 0; k < SIZE; k++) {
          expected[k] = (byte) (i + k);
        }
        assertArrayEquals(expected, reads.get(i).get(60, TimeUnit.SECONDS), "f" + i);
      }
      assertEquals(0, fs.notWorkers.get(), "every callback ran on a fuse-worker or fuse-loop thread");
    } finally {
      fs.gate.countDown();
      readers.shutdownNow();
      mount.close();
    }
    mount.terminated().get(30, TimeUnit.SECONDS);
    assertFalse(MountTable.isMounted(mnt));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (workersAlive(mnt) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertFalse(workersAlive(mnt), "every fuse-worker thread of the mount ended");
  }

  private static boolean workersAlive(Path mnt) {
    return Thread.getAllStackTraces().keySet().stream()
        .anyMatch(t -> t.getName().startsWith("fuse-worker-") && t.getName().endsWith(" " + mnt));
  }
}
