package io.s3cache.fuse;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.byref.IntByReference;
import jnr.ffi.byref.PointerByReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * libfuse 2's session loop run by Java threads of our own instead of libfuse's {@code
 * fuse_loop_mt}: {@code fuse_setup} mounts and builds the session as {@code fuse_main} does, then a
 * fixed set of {@code fuse-worker} threads each receive a request from {@code /dev/fuse} and
 * process it ({@code fuse_session_receive_buf}, {@code fuse_session_process_buf}), and {@code
 * fuse_teardown} ends it once the mount is gone.
 *
 * <p><b>Why.</b> Every callback from libfuse into Java runs through jffi, which attaches a native
 * thread to the JVM before the call and detaches it after, for each of a thread's first 1000
 * callbacks. libfuse 2's own loop starts a worker thread whenever none is idle and ends one
 * whenever more than 10 are idle (hard-coded), so under a cold read, whose callbacks block on
 * fetches, its threads come and go and almost every callback paid an attach and a detach: 12% of
 * the daemon's CPU on a cold GiB, 18% on the first warm read after it (docs/BENCHMARKS.md, run 9).
 * Threads that Java started are attached for good, so their callbacks pay neither.
 *
 * <p>The workers are as many as {@link #WORKERS}: requests beyond that many blocked at once wait in
 * the kernel's queue (libfuse 2's loop had no bound). Each holds one request buffer of the
 * channel's size (128 KiB plus a page).
 */
final class FuseWorkers {

  private static final Logger LOG = LoggerFactory.getLogger(FuseWorkers.class);

  /** Threads per mount: more than the kernel's 12 background requests plus a few synchronous ones. */
  static final int WORKERS = 24;

  private static final int EINTR = 4;
  /** struct fuse_buf (libfuse 2.9): size_t size; int flags; void *mem; int fd; off_t pos. */
  private static final int FUSE_BUF_SIZE = 40;
  private static final int BUF_SIZE_OFFSET = 0;
  private static final int BUF_FLAGS_OFFSET = 8;
  private static final int BUF_MEM_OFFSET = 16;
  private static final int BUF_FD_OFFSET = 24;
  private static final int BUF_POS_OFFSET = 32;

  private FuseWorkers() {}

  /**
   * Mounts with {@code argv} (program name, {@code -f}, the mount point, options) and the operations
   * table {@code ops}, serves requests until the mount is gone, then tears the session down.
   * Blocks the calling thread, which serves requests too.
   *
   * @throws IllegalStateException if libfuse could not mount (it printed why on stderr)
   */
  static void run(String[] argv, Pointer ops, long opsSize, Path mountPoint) {
    LibFuse2 f = LibFuse2.get();
    PointerByReference mountpointOut = new PointerByReference();
    IntByReference multithreaded = new IntByReference();
    Pointer fuse = f.fuse_setup(argv.length, argv, ops, opsSize, mountpointOut, multithreaded, null);
    if (fuse == null || fuse.address() == 0) {
      throw new IllegalStateException("libfuse could not mount " + mountPoint);
    }
    AtomicInteger failed = new AtomicInteger();
    boolean allEnded = true;
    try {
      if (f.fuse_start_cleanup_thread(fuse) != 0) {
        throw new IllegalStateException("libfuse could not start its cleanup thread for " + mountPoint);
      }
      Pointer session = f.fuse_get_session(fuse);
      Pointer chan = f.fuse_session_next_chan(session, null);
      long bufSize = f.fuse_chan_bufsize(chan);
      List<Thread> others = new ArrayList<>();
      for (int i = 1; i < WORKERS; i++) {
        Thread t = new Thread(() -> serve(f, session, chan, bufSize, failed),
            "fuse-worker-" + i + " " + mountPoint);
        t.setDaemon(true);
        try {
          t.start();
        } catch (OutOfMemoryError | RuntimeException e) { // no thread to be had: serve with fewer
          LOG.warn("{}: started {} of {} FUSE workers: {}", mountPoint, i, WORKERS, e.toString());
          break;
        }
        others.add(t);
      }
      serve(f, session, chan, bufSize, failed);
      // Unmounted: every other worker's receive ends too. A session ended by a receive error
      // leaves the others blocked on a live mount: drop the mount so their receives end.
      if (!joinAll(others, TimeUnit.SECONDS.toNanos(10))) {
        LOG.warn("FUSE workers of {} still running after their session ended; unmounting lazily",
            mountPoint);
        lazyUnmount(mountPoint);
        allEnded = joinAll(others, TimeUnit.SECONDS.toNanos(10));
      }
      f.fuse_stop_cleanup_thread(fuse);
    } finally {
      if (allEnded) {
        f.fuse_teardown(fuse, mountpointOut.getValue());
      } else { // a worker may still be inside the session: freeing it would crash the JVM
        LOG.error("FUSE workers of {} did not end; its libfuse session is left allocated", mountPoint);
      }
    }
    if (failed.get() != 0) {
      LOG.warn("FUSE session of {} ended on a receive error", mountPoint);
    }
  }

  /** One worker: receive, process, until the session ends (the mount is gone). */
  private static void serve(LibFuse2 f, Pointer session, Pointer chan, long bufSize,
      AtomicInteger failed) {
    Runtime runtime = Runtime.getSystemRuntime();
    Pointer fbuf = Memory.allocateDirect(runtime, FUSE_BUF_SIZE, true);
    Pointer mem = Memory.allocateDirect(runtime, bufSize);
    Pointer requestChan = Memory.allocateDirect(runtime, runtime.addressSize(), true);
    while (f.fuse_session_exited(session) == 0) {
      fbuf.putLong(BUF_SIZE_OFFSET, bufSize);
      fbuf.putInt(BUF_FLAGS_OFFSET, 0);
      fbuf.putPointer(BUF_MEM_OFFSET, mem);
      fbuf.putInt(BUF_FD_OFFSET, -1);
      fbuf.putLong(BUF_POS_OFFSET, 0);
      requestChan.putPointer(0, chan);
      int res = f.fuse_session_receive_buf(session, fbuf, requestChan);
      if (res == -EINTR) {
        continue;
      }
      if (res <= 0) { // 0: the mount is gone; below: a receive error ends the whole session
        if (res < 0) {
          failed.incrementAndGet();
          f.fuse_session_exit(session);
        }
        break;
      }
      f.fuse_session_process_buf(session, fbuf, requestChan.getPointer(0));
    }
    // Others blocked in their receive get ENODEV once the kernel drops the connection.
  }

  /** Waits up to {@code nanos} in all for the threads to end; whether they all did. */
  private static boolean joinAll(List<Thread> threads, long nanos) {
    long deadline = System.nanoTime() + nanos;
    boolean interrupted = false;
    try {
      for (Thread t : threads) {
        while (t.isAlive()) {
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            return false;
          }
          try {
            t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
          } catch (InterruptedException e) {
            interrupted = true;
          }
        }
      }
      return true;
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static void lazyUnmount(Path mountPoint) {
    String error = FuseMount.fusermount("-uz", mountPoint);
    if (error != null) {
      LOG.warn("cannot unmount {} lazily: {}", mountPoint, error);
    }
  }
}
