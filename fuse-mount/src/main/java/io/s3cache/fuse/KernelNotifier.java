package io.s3cache.fuse;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells the kernel to drop a cached directory entry (and, with it, everything cached below it),
 * so a name the filesystem now answers differently is looked up again at once instead of when its
 * entry timeout runs out. This is FUSE's {@code NOTIFY_INVAL_ENTRY} message.
 *
 * <p>libfuse2's high-level API has no call for it, and its low-level one takes the session's
 * channel, which libfuse frees when the mount ends while we may still hold it. So at {@code init}
 * this class duplicates the connection's {@code /dev/fuse} file descriptor and writes the message
 * to its own copy: after the mount is gone a write just fails (ENODEV), and the copy is closed
 * with the mount. Only entries of the mount's root are addressed (the root's node id is always 1;
 * libfuse's ids of deeper directories are not visible here): dropping a top-level entry drops the
 * kernel's whole cached subtree under it.
 *
 * <p>Thread-safe; a failure is logged and reported as false, never thrown.
 */
final class KernelNotifier implements AutoCloseable {

  /** The libc calls used on the duplicated descriptor. */
  public interface LibC {
    int dup(int fd);

    int close(int fd);

    long write(int fd, @In byte[] buf, long count);
  }

  private static final Logger LOG = LoggerFactory.getLogger(KernelNotifier.class);
  /** fuse_notify_code FUSE_NOTIFY_INVAL_ENTRY. */
  private static final int NOTIFY_INVAL_ENTRY = 3;
  private static final long ROOT_ID = 1;
  private static final int ENOENT = 2;

  private static volatile LibC libC;

  private int fd = -1; // guarded by this

  /**
   * Captures the connection from libfuse's context; call from the {@code init} callback.
   *
   * @param fuse the {@code struct fuse *} of the calling context
   */
  synchronized void capture(Pointer fuse) {
    try {
      LibFuse2 f = LibFuse2.get();
      Pointer session = f.fuse_get_session(fuse);
      Pointer chan = session == null ? null : f.fuse_session_next_chan(session, null);
      int connection = chan == null ? -1 : f.fuse_chan_fd(chan);
      if (connection < 0) {
        LOG.info("kernel cache notifications unavailable: no FUSE channel in the context");
        return;
      }
      fd = libC().dup(connection);
      if (fd < 0) {
        LOG.info("kernel cache notifications unavailable: dup of the FUSE descriptor failed");
      }
    } catch (RuntimeException | LinkageError e) {
      LOG.info("kernel cache notifications unavailable: {}", e.toString());
      fd = -1;
    }
  }

  /** Whether notifications can be sent (captured and not closed). */
  synchronized boolean available() {
    return fd >= 0;
  }

  /**
   * Drops the kernel's entry for {@code name} in the mount's root, and its cached subtree.
   *
   * @return true if the kernel dropped it or held no such entry; false if the message could not be
   *     delivered (the caller's change then shows once the kernel's timeouts run out)
   */
  synchronized boolean invalidateRootEntry(String name) {
    if (fd < 0) {
      return false;
    }
    byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
    int length = 16 + 16 + nameBytes.length + 1;
    ByteBuffer msg = ByteBuffer.allocate(length).order(ByteOrder.nativeOrder());
    msg.putInt(length).putInt(NOTIFY_INVAL_ENTRY).putLong(0); // fuse_out_header, unique 0
    msg.putLong(ROOT_ID).putInt(nameBytes.length).putInt(0); // fuse_notify_inval_entry_out
    msg.put(nameBytes).put((byte) 0);
    long written = libC().write(fd, msg.array(), length);
    if (written == length) {
      return true;
    }
    int errno = jnr.ffi.LastError.getLastError(jnr.ffi.Runtime.getSystemRuntime());
    if (errno == ENOENT) {
      return true; // nothing cached under that name
    }
    LOG.debug("kernel entry invalidation of /{} failed: errno {}", name, errno);
    return false;
  }

  @Override
  public synchronized void close() {
    if (fd >= 0) {
      libC().close(fd);
      fd = -1;
    }
  }

  private static LibC libC() {
    if (libC == null) {
      libC = LibraryLoader.create(LibC.class).failImmediately().load("c");
    }
    return libC;
  }
}
