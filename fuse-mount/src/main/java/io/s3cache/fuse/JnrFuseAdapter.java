package io.s3cache.fuse;

import com.kenai.jffi.MemoryIO;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.Struct;
import jnr.ffi.annotations.Delegate;
import jnr.ffi.types.mode_t;
import jnr.ffi.types.off_t;
import jnr.ffi.types.size_t;
import ru.serce.jnrfuse.ErrorCodes;
import ru.serce.jnrfuse.FuseFillDir;
import ru.serce.jnrfuse.FuseStubFS;
import ru.serce.jnrfuse.struct.FileStat;
import ru.serce.jnrfuse.struct.FuseFileInfo;
import ru.serce.jnrfuse.struct.Statvfs;
import ru.serce.jnrfuse.struct.Timespec;

/**
 * Maps jnr-fuse callbacks onto a {@link Filesystem}: each callback converts native structs, makes one
 * call on the port through {@link OperationRunner}, and writes the result back. No cache or S3 logic
 * lives here.
 */
final class JnrFuseAdapter extends FuseStubFS {

  /** fuse_file_info's bit-field word (direct_io, keep_cache, ...) sits just before {@code fh}. */
  private static final int DIRECT_IO_BIT = 1;
  private static final int KEEP_CACHE_BIT = 1 << 1;

  private final Filesystem fs;
  private final OperationRunner runner;
  private final Runnable onInit;
  private final KernelNotifier notifier = new KernelNotifier();
  /** Held for as long as libfuse may call it: the native stub lives only while these are reachable. */
  private final RawReadCallback rawRead;
  private final Pointer rawReadPointer;

  /** libfuse's read with its path and fuse_file_info unconverted (see the constructor). */
  public interface RawReadCallback {
    @Delegate
    int read(Pointer path, Pointer buf, @size_t long size, @off_t long offset, Pointer fi);
  }

  /** A path as libfuse passed it (null under nullpath_ok), decoded only when printed. */
  private record NativePath(Pointer path) {
    @Override
    public String toString() {
      return path == null || path.address() == 0 ? "null" : path.getString(0, PATH_MAX, StandardCharsets.UTF_8);
    }
  }

  private static final int PATH_MAX = 4096;
  private static final long FH_OFFSET =
      FuseFileInfo.of(Memory.allocateDirect(Runtime.getSystemRuntime(), 8)).fh.offset();

  JnrFuseAdapter(Filesystem fs, OperationObserver observer, long slowNanos, Runnable onInit) {
    this.fs = fs;
    // flag_nullpath_ok (the lowest bit of fuse_operations' flag word): with hard_remove, libfuse
    // calls read/write/flush/release/fgetattr/ftruncate of a file unlinked while open with a null
    // path instead of failing them with ENOENT; every one of those works by handle here.
    Pointer ops = Struct.getMemory(fuseOperations);
    long flags = MemberOffset.of(fuseOperations.flag_nullpath_ok);
    ops.putInt(flags, ops.getInt(flags) | 1);
    this.runner = new OperationRunner(observer, JnrFuseAdapter::errnoValue, slowNanos);
    // read is the one callback a sequential read makes per 128 KiB: jnr-fuse's own decodes the path
    // into a String and builds a FuseFileInfo struct (a dozen member objects) for every call, though
    // read needs only the handle. Ours takes both as raw pointers: the path is decoded only when a
    // log line names it, the handle is one load.
    this.rawRead = this::rawRead;
    this.rawReadPointer = Runtime.getSystemRuntime().getClosureManager()
        .getClosurePointer(RawReadCallback.class, rawRead);
    ops.putPointer(fuseOperations.read.offset(), rawReadPointer);
    this.onInit = onInit;
  }

  /**
   * Mounts at {@code mountPoint} with libfuse options {@code args} and serves it on threads of our
   * own ({@link FuseWorkers}) until it is unmounted; blocks. In place of jnr-fuse's {@code mount},
   * whose {@code fuse_main} runs libfuse's own worker threads.
   */
  void serve(Path mountPoint, String[] args) {
    if (!mounted.compareAndSet(false, true)) {
      throw new IllegalStateException(mountPoint + " is mounted already");
    }
    this.mountPoint = mountPoint;
    String[] argv = new String[3 + args.length];
    argv[0] = getFSName();
    argv[1] = "-f";
    argv[2] = mountPoint.toString();
    System.arraycopy(args, 0, argv, 3, args.length);
    try {
      FuseWorkers.run(argv, Struct.getMemory(fuseOperations), Struct.size(fuseOperations), mountPoint);
    } finally {
      mounted.set(false);
    }
  }

  @Override
  public Pointer init(Pointer conn) {
    notifier.capture(getContext().fuse.get());
    onInit.run();
    return null;
  }

  /** Sends kernel cache invalidations for this mount (available once init has run). */
  KernelNotifier notifier() {
    return notifier;
  }

  @Override
  public int getattr(String path, FileStat stat) {
    return runner.call("getattr", path, () -> {
      fillStat(fs.getattr(path), stat);
      return 0;
    });
  }

  @Override
  public int readdir(String path, Pointer buf, FuseFillDir filler, @off_t long offset, FuseFileInfo fi) {
    return runner.call("readdir", path, () -> {
      List<DirEntry> entries = fs.readdir(path);
      // One native stat reused for every entry: libfuse copies its type (d_type, so scandir-based
      // loaders need no stat per file) and inode out of it during the call.
      FileStat stat = FileStat.of(Memory.allocateDirect(Runtime.getSystemRuntime(), STAT_SIZE));
      fill(filler, buf, ".", null);
      fill(filler, buf, "..", null);
      for (DirEntry entry : entries) {
        fillStat(entry.attributes(), stat);
        if (fill(filler, buf, entry.name(), stat) != 0) {
          break; // the kernel's buffer is full; with offset 0 libfuse keeps the whole listing itself
        }
      }
      return 0;
    });
  }

  @Override
  public int open(String path, FuseFileInfo fi) {
    return runner.call("open", path, () -> {
      OpenFile file = fs.open(path, new OpenFlags(fi.flags.get()));
      fi.fh.set(file.handle());
      int set = (file.keepPageCache() ? KEEP_CACHE_BIT : 0) | (file.directIo() ? DIRECT_IO_BIT : 0);
      if (set != 0) {
        Pointer memory = Struct.getMemory(fi);
        long bits = FH_OFFSET - 4;
        memory.putInt(bits, memory.getInt(bits) | set);
      }
      return 0;
    });
  }

  /** What libfuse calls for read (installed by the constructor; jnr-fuse wires none). */
  private int rawRead(Pointer path, Pointer buf, long size, long offset, Pointer fi) {
    long handle = fi.getLongLong(FH_OFFSET);
    return runner.call("read", new NativePath(path), () -> {
      ByteBuffer dst = MemoryIO.getInstance().newDirectByteBuffer(buf.address(), (int) size);
      return fs.read(handle, offset, dst);
    });
  }

  @Override
  public int release(String path, FuseFileInfo fi) {
    return runner.call("release", path, () -> {
      fs.release(fi.fh.get());
      return 0;
    });
  }

  @Override
  public int statfs(String path, Statvfs stbuf) {
    return runner.call("statfs", path, () -> {
      FsStatistics s = fs.statfs(path);
      stbuf.f_bsize.set(s.blockSize());
      stbuf.f_frsize.set(s.blockSize());
      stbuf.f_blocks.set(s.totalBlocks());
      stbuf.f_bfree.set(s.freeBlocks());
      stbuf.f_bavail.set(s.freeBlocks());
      stbuf.f_files.set(s.totalFiles());
      stbuf.f_ffree.set(s.freeFiles());
      stbuf.f_favail.set(s.freeFiles());
      stbuf.f_namemax.set(s.maxNameLength());
      return 0;
    });
  }

  @Override
  public int getxattr(String path, String name, Pointer value, @size_t long size) {
    return runner.call("getxattr", path, () -> {
      byte[] bytes = fs.getxattr(path, name);
      if (size == 0) {
        return bytes.length; // the caller asks how big a buffer it needs
      }
      if (bytes.length > size) {
        throw new FsException(Errno.ERANGE, "xattr " + name + " needs " + bytes.length + " bytes");
      }
      value.put(0, bytes, 0, bytes.length);
      return bytes.length;
    });
  }

  @Override
  public int listxattr(String path, Pointer list, @size_t long size) {
    return runner.call("listxattr", path, () -> {
      ByteBuffer names = ByteBuffer.allocate(4096);
      for (String name : fs.listxattr(path)) {
        names.put(name.getBytes(StandardCharsets.UTF_8)).put((byte) 0);
      }
      int length = names.position();
      if (size == 0) {
        return length;
      }
      if (length > size) {
        throw new FsException(Errno.ERANGE, "xattr names need " + length + " bytes");
      }
      list.put(0, names.array(), 0, length);
      return length;
    });
  }

  // Writes and metadata changes: each is one call on the port.

  @Override
  public int create(String path, @mode_t long mode, FuseFileInfo fi) {
    return runner.call("create", path, () -> {
      fi.fh.set(fs.create(path, new OpenFlags(fi.flags.get()), (int) mode).handle());
      return 0;
    });
  }

  @Override
  public int write(String path, Pointer buf, @size_t long size, @off_t long offset, FuseFileInfo fi) {
    return runner.call("write", path, () ->
        fs.write(fi.fh.get(), offset, MemoryIO.getInstance().newDirectByteBuffer(buf.address(), (int) size)));
  }

  /**
   * Called on every close(2) of a descriptor: its result is what close returns. Where the
   * filesystem has nothing to flush, ENOSYS: the kernel then stops sending flushes to the mount
   * (FUSE's no_flush) and close returns 0 at once.
   */
  @Override
  public int flush(String path, FuseFileInfo fi) {
    if (!fs.flushes()) {
      return -ErrorCodes.ENOSYS();
    }
    return runner.call("flush", path, () -> {
      fs.flush(fi.fh.get());
      return 0;
    });
  }

  @Override
  public int fsync(String path, int isdatasync, FuseFileInfo fi) {
    return runner.call("fsync", path, () -> {
      fs.fsync(fi.fh.get());
      return 0;
    });
  }

  @Override
  public int ftruncate(String path, @off_t long size, FuseFileInfo fi) {
    return runner.call("ftruncate", path, () -> {
      fs.ftruncate(fi.fh.get(), path, size);
      return 0;
    });
  }

  @Override
  public int fgetattr(String path, FileStat stat, FuseFileInfo fi) {
    return runner.call("fgetattr", path, () -> {
      fillStat(fs.fgetattr(fi.fh.get(), path), stat);
      return 0;
    });
  }

  @Override
  public int truncate(String path, @off_t long size) {
    return runner.call("truncate", path, () -> {
      fs.truncate(path, size);
      return 0;
    });
  }

  @Override
  public int mkdir(String path, @mode_t long mode) {
    return runner.call("mkdir", path, () -> {
      fs.mkdir(path, (int) mode);
      return 0;
    });
  }

  @Override
  public int unlink(String path) {
    return runner.call("unlink", path, () -> {
      fs.unlink(path);
      return 0;
    });
  }

  @Override
  public int rmdir(String path) {
    return runner.call("rmdir", path, () -> {
      fs.rmdir(path);
      return 0;
    });
  }

  @Override
  public int rename(String oldpath, String newpath) {
    return runner.call("rename", oldpath, () -> {
      fs.rename(oldpath, newpath);
      return 0;
    });
  }

  @Override
  public int chmod(String path, @mode_t long mode) {
    return metadataChange("chmod", path);
  }

  @Override
  public int chown(String path, long uid, long gid) {
    return metadataChange("chown", path);
  }

  @Override
  public int utimens(String path, Timespec[] timespec) {
    return metadataChange("utimens", path);
  }

  @Override
  public int symlink(String oldpath, String newpath) {
    return metadataChange("symlink", newpath);
  }

  @Override
  public int link(String oldpath, String newpath) {
    return metadataChange("link", newpath);
  }

  @Override
  public int mknod(String path, @mode_t long mode, long rdev) {
    return metadataChange("mknod", path);
  }

  @Override
  public int setxattr(String path, String name, Pointer value, @size_t long size, int flags) {
    return metadataChange("setxattr", path);
  }

  @Override
  public int removexattr(String path, String name) {
    return metadataChange("removexattr", path);
  }

  private int metadataChange(String op, String path) {
    return runner.call(op, path, () -> {
      fs.changeMetadata(op, path);
      return 0;
    });
  }

  /** A struct member's offset: the accessor is visible only from inside a {@link Struct} subclass. */
  private abstract static class MemberOffset extends Struct {
    private MemberOffset() {
      super(Runtime.getSystemRuntime());
    }

    static long of(Struct.Padding member) {
      return ((Struct.AbstractMember) member).offset();
    }
  }

  private static final int STAT_SIZE = Struct.size(new FileStat(Runtime.getSystemRuntime()));

  /** jnr-fuse's own String overload uses the platform charset and no terminating NUL: not ours. */
  private static int fill(FuseFillDir filler, Pointer buf, String name, FileStat stat) {
    byte[] utf8 = name.getBytes(StandardCharsets.UTF_8);
    ByteBuffer cName = ByteBuffer.allocate(utf8.length + 1).put(utf8).put((byte) 0).flip();
    return filler.apply(buf, cName, stat == null ? null : Struct.getMemory(stat), 0);
  }

  private static void fillStat(FileAttributes a, FileStat stat) {
    int typeBits = a.isDirectory() ? FileStat.S_IFDIR : FileStat.S_IFREG;
    stat.st_mode.set(typeBits | a.permissions());
    stat.st_nlink.set(a.isDirectory() ? 2 : 1);
    stat.st_size.set(a.size());
    stat.st_blocks.set((a.size() + 511) / 512);
    stat.st_blksize.set(128 * 1024);
    stat.st_uid.set(a.uid());
    stat.st_gid.set(a.gid());
    stat.st_ino.set(a.inode());
    long seconds = a.mtime().getEpochSecond();
    int nanos = a.mtime().getNano();
    stat.st_mtim.tv_sec.set(seconds);
    stat.st_mtim.tv_nsec.set(nanos);
    stat.st_ctim.tv_sec.set(seconds);
    stat.st_ctim.tv_nsec.set(nanos);
    stat.st_atim.tv_sec.set(seconds);
    stat.st_atim.tv_nsec.set(nanos);
  }

  static int errnoValue(Errno errno) {
    return switch (errno) {
      case EPERM -> ErrorCodes.EPERM();
      case ENOENT -> ErrorCodes.ENOENT();
      case EIO -> ErrorCodes.EIO();
      case EBADF -> ErrorCodes.EBADF();
      case EACCES -> ErrorCodes.EACCES();
      case EEXIST -> ErrorCodes.EEXIST();
      case ENOTDIR -> ErrorCodes.ENOTDIR();
      case EISDIR -> ErrorCodes.EISDIR();
      case EINVAL -> ErrorCodes.EINVAL();
      case ENOSPC -> ErrorCodes.ENOSPC();
      case EROFS -> ErrorCodes.EROFS();
      case ERANGE -> ErrorCodes.ERANGE();
      case ENAMETOOLONG -> ErrorCodes.ENAMETOOLONG();
      case ENOSYS -> ErrorCodes.ENOSYS();
      case ENOTEMPTY -> ErrorCodes.ENOTEMPTY();
      case ENODATA -> ErrorCodes.ENODATA();
      case ENOTSUP -> ErrorCodes.ENOTSUP();
      case ETIMEDOUT -> ErrorCodes.ETIMEDOUT();
      case ESTALE -> ErrorCodes.ESTALE();
      case EXDEV -> ErrorCodes.EXDEV();
      case EFBIG -> ErrorCodes.EFBIG();
    };
  }
}
