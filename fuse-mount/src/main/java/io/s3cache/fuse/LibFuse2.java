package io.s3cache.fuse;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.byref.IntByReference;
import jnr.ffi.byref.PointerByReference;
import jnr.ffi.types.size_t;

/**
 * The entry points of libfuse 2 that s3cache calls itself, beside jnr-fuse's: those {@code
 * fuse_main} is made of ({@link FuseWorkers} runs the session on threads of its own), and the way
 * from the session to the connection's descriptor ({@link KernelNotifier}).
 */
public interface LibFuse2 {

  Pointer fuse_setup(int argc, String[] argv, Pointer op, @size_t long opSize,
      PointerByReference mountpoint, IntByReference multithreaded, Pointer userData);

  void fuse_teardown(Pointer fuse, Pointer mountpoint);

  Pointer fuse_get_session(Pointer fuse);

  Pointer fuse_session_next_chan(Pointer session, Pointer chan);

  @size_t long fuse_chan_bufsize(Pointer chan);

  int fuse_chan_fd(Pointer chan);

  /** {@code chan}: a {@code struct fuse_chan *} in memory of the caller's, which it may replace. */
  int fuse_session_receive_buf(Pointer session, Pointer buf, Pointer chan);

  void fuse_session_process_buf(Pointer session, Pointer buf, Pointer chan);

  int fuse_session_exited(Pointer session);

  void fuse_session_exit(Pointer session);

  int fuse_start_cleanup_thread(Pointer fuse);

  void fuse_stop_cleanup_thread(Pointer fuse);

  /** The library, loaded once (as jnr-fuse loads it: Debian ships no unversioned link). */
  static LibFuse2 get() {
    return Holder.LIB;
  }

  /** Loads on first use. */
  final class Holder {
    private static final LibFuse2 LIB =
        LibraryLoader.create(LibFuse2.class).failImmediately().load("libfuse.so.2");

    private Holder() {}
  }
}
