package io.s3cache.fuse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One live FUSE mount of a {@link Filesystem}. {@link #mount} returns only once the kernel lists the
 * mount and libfuse has initialised it; on any failure nothing stays mounted.
 */
public final class FuseMount implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(FuseMount.class);
  private static final Path DEV_FUSE = Path.of("/dev/fuse");

  private final Path mountPoint;
  private final JnrFuseAdapter adapter;
  private final CompletableFuture<Void> terminated = new CompletableFuture<>();
  private volatile boolean mounted = true;

  private FuseMount(Path mountPoint, JnrFuseAdapter adapter) {
    this.mountPoint = mountPoint;
    this.adapter = adapter;
  }

  /**
   * Checks that a directory can be mounted on: it exists, is a directory, and nothing is mounted
   * there yet.
   */
  public static Path checkMountPoint(Path mountPoint) throws MountException {
    Path mp = mountPoint.toAbsolutePath().normalize();
    if (!Files.exists(mp)) {
      throw new MountException("mount point " + mp + " does not exist");
    }
    if (!Files.isDirectory(mp)) {
      throw new MountException("mount point " + mp + " is not a directory");
    }
    if (MountTable.isMounted(mp)) {
      throw new MountException("mount point " + mp + " is already mounted");
    }
    return mp;
  }

  /**
   * Mounts {@code fs} at {@code mountPoint}.
   *
   * @param options libfuse {@code -o} options, e.g. "fsname=s3cache:bucket", "attr_timeout=60"
   * @param timeout how long to wait for the kernel to list the mount
   */
  public static FuseMount mount(
      Filesystem fs, Path mountPoint, List<String> options, OperationObserver observer, Duration timeout)
      throws MountException {
    Path mp = checkMountPoint(mountPoint);
    if (!Files.exists(DEV_FUSE)) {
      throw new MountException("FUSE is unavailable: " + DEV_FUSE + " does not exist (load the fuse module)");
    }
    CompletableFuture<Void> initialised = new CompletableFuture<>();
    JnrFuseAdapter adapter;
    try {
      adapter = new JnrFuseAdapter(fs, observer, TimeUnit.MILLISECONDS.toNanos(500), () -> initialised.complete(null));
    } catch (Throwable e) { // jnr throws UnsatisfiedLinkError-like errors when libfuse is missing
      throw new MountException("FUSE is unavailable: cannot load libfuse.so.2 (install the libfuse2 package)", e);
    }
    String[] args = options.isEmpty() ? new String[0] : new String[] {"-o", String.join(",", options)};
    FuseMount mount = new FuseMount(mp, adapter);
    // libfuse's session runs on threads of ours (FuseWorkers), so we learn when it ends (unmounted
    // by anyone).
    Thread loop = new Thread(() -> {
      try {
        adapter.serve(mp, args);
        adapter.notifier().close(); // unmounted by anyone: our descriptor copy goes too
        mount.terminated.complete(null);
      } catch (Throwable t) {
        adapter.notifier().close();
        mount.terminated.completeExceptionally(t);
      }
    }, "fuse-loop " + mp);
    loop.setDaemon(true);
    loop.start();
    try {
      CompletableFuture.anyOf(initialised, mount.terminated).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      long deadline = System.nanoTime() + timeout.toNanos();
      while (initialised.isDone() && !MountTable.isMounted(mp) && System.nanoTime() < deadline) {
        Thread.onSpinWait(); // init has run; the mount table entry follows within microseconds
      }
      if (!initialised.isDone() || !MountTable.isMounted(mp)) {
        throw new MountException("mounting " + mp + " failed: libfuse did not start the mount");
      }
    } catch (ExecutionException e) {
      mount.close();
      throw new MountException("cannot mount " + mp + ": " + rootMessage(e), e);
    } catch (TimeoutException e) {
      mount.close();
      throw new MountException("mounting " + mp + " did not complete within " + timeout.toSeconds() + " s");
    } catch (MountException e) {
      mount.close();
      throw e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      mount.close();
      throw new MountException("interrupted while mounting " + mp);
    }
    LOG.info("mounted {}", mp);
    return mount;
  }

  /**
   * Sets the kernel's read-ahead window for this mount (root only; a no-op elsewhere). The default
   * of 128 KiB keeps one FUSE read in flight per reader; a larger window lets the kernel ask for
   * several 128 KiB reads at once, served in parallel by libfuse's threads.
   */
  public void setKernelReadAhead(long bytes) {
    MountTable.find(mountPoint).ifPresent(e -> {
      Path knob = Path.of("/sys/class/bdi", e.device(), "read_ahead_kb");
      try {
        Files.writeString(knob, Long.toString(bytes / 1024));
        LOG.debug("{}: read_ahead_kb = {}", mountPoint, bytes / 1024);
      } catch (IOException ex) {
        LOG.info("cannot set kernel read-ahead of {} ({}): {}", mountPoint, knob, ex.toString());
      }
    });
  }

  public Path mountPoint() {
    return mountPoint;
  }

  /**
   * Makes the kernel forget what it cached about {@code name} in the mount's root and everything
   * under it (entries, attributes, negative entries), so the next access asks the filesystem.
   *
   * @return false if the kernel could not be told (then it keeps its entries until their
   *     timeouts run out)
   */
  public boolean invalidateRootEntry(String name) {
    return mounted && !terminated.isDone() && adapter.notifier().invalidateRootEntry(name);
  }

  /** Completes when libfuse's loop ends: the mount was unmounted, by us or by anyone else. */
  public CompletableFuture<Void> terminated() {
    return terminated;
  }

  /**
   * Unmounts. Fails with a clear message when the mount is busy (a process has a file open or its
   * working directory inside); {@link #close} unmounts lazily instead.
   */
  public void unmount() throws MountException {
    if (!mounted) {
      return;
    }
    String error = fusermount("-u", mountPoint);
    if (error != null && MountTable.isMounted(mountPoint)) {
      throw new MountException("cannot unmount " + mountPoint + ": " + error);
    }
    finish();
  }

  /** Unmounts, lazily if busy; never throws. */
  @Override
  public void close() {
    if (!mounted) {
      return;
    }
    if (fusermount("-u", mountPoint) != null && MountTable.isMounted(mountPoint)) {
      String lazy = fusermount("-uz", mountPoint);
      if (lazy != null) {
        LOG.warn("cannot unmount {}: {}", mountPoint, lazy);
      }
    }
    finish();
  }

  private void finish() {
    mounted = false;
    adapter.notifier().close();
    try {
      terminated.get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.debug("libfuse loop for {} ended with {}", mountPoint, e.toString());
    }
    LOG.info("unmounted {}", mountPoint);
  }

  /** Runs fusermount on {@code mountPoint}; returns null on success, else its one-line complaint. */
  static String fusermount(String flags, Path mountPoint) {
    try {
      Process p = new ProcessBuilder("fusermount", flags, mountPoint.toString()).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return "fusermount did not finish";
      }
      return p.exitValue() == 0 ? null : out.isEmpty() ? "fusermount exited " + p.exitValue() : out;
    } catch (IOException e) {
      return "cannot run fusermount: " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }

  private static String rootMessage(Throwable t) {
    Throwable root = t;
    while (root.getCause() != null) {
      root = root.getCause();
    }
    return root.getMessage() == null ? root.toString() : root.getMessage();
  }
}
