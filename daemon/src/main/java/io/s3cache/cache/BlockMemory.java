package io.s3cache.cache;

import com.kenai.jffi.MemoryIO;
import java.nio.ByteBuffer;
import jnr.ffi.LibraryLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the {@link BufferPool}'s buffers come from. The block cache's first cold read touches the
 * whole RAM tier's memory once, and in a VM each 4 KiB page's first-touch fault is expensive
 * (with the JVM's zero-fill of every new direct buffer on top, the pool's first buffers took a
 * quarter of a cold GiB's CPU: docs/BENCHMARKS.md, run 6). {@link #HUGE_PAGES} allocates native
 * memory without the zero-fill (a fill overwrites every byte before a reader may see it), aligned
 * to 2 MiB and advised {@code MADV_HUGEPAGE}, so the kernel backs it with transparent huge pages
 * where it allows them (512 times fewer faults); {@link #JVM} is {@code allocateDirect}.
 *
 * <p>Buffers of {@link #HUGE_PAGES} are not freed by the garbage collector: the pool frees one
 * when it drops it after close ({@link #free}), which the ownership rule of {@link BlockBuffer}
 * makes safe (a buffer is dropped only once nobody holds a reference).
 */
interface BlockMemory {

  /** A direct buffer of {@code size} bytes whose start is aligned to {@link BlockFileFormat#ALIGNMENT}. */
  ByteBuffer allocate(int size);

  /** Frees a buffer this allocator made (a no-op where the garbage collector does it). */
  void free(ByteBuffer buffer);

  BlockMemory JVM = new BlockMemory() {
    @Override
    public ByteBuffer allocate(int size) {
      return ByteBuffer.allocateDirect(size + BlockFileFormat.ALIGNMENT)
          .alignedSlice(BlockFileFormat.ALIGNMENT).limit(size).slice();
    }

    @Override
    public void free(ByteBuffer buffer) {}
  };

  BlockMemory HUGE_PAGES = HugePages.load();

  /** Native memory advised for transparent huge pages; JVM memory where that cannot be had. */
  final class HugePages implements BlockMemory {
    private static final Logger log = LoggerFactory.getLogger(HugePages.class);
    private static final long HUGE = 2L << 20;
    private static final int MADV_HUGEPAGE = 14;

    /** The part of libc used here. */
    public interface LibC {
      int madvise(long address, long length, int advice);
    }

    private final LibC libc;
    private final MemoryIO io;
    private final java.util.Map<ByteBuffer, Long> bases =
        java.util.Collections.synchronizedMap(new java.util.IdentityHashMap<>());

    private HugePages(LibC libc, MemoryIO io) {
      this.libc = libc;
      this.io = io;
    }

    static BlockMemory load() {
      try {
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
          return JVM;
        }
        return new HugePages(LibraryLoader.create(LibC.class).load("c"), MemoryIO.getInstance());
      } catch (RuntimeException | LinkageError e) {
        LoggerFactory.getLogger(BlockMemory.class)
            .info("block buffers: no native allocation ({}); using JVM direct buffers", e.toString());
        return JVM;
      }
    }

    @Override
    public ByteBuffer allocate(int size) {
      long base = io.allocateMemory(size + HUGE, false);
      if (base == 0) {
        throw new OutOfMemoryError("cannot allocate " + size + " bytes for a block buffer");
      }
      long aligned = (base + HUGE - 1) & -HUGE;
      if (libc.madvise(aligned, size, MADV_HUGEPAGE) != 0) {
        log.debug("madvise(MADV_HUGEPAGE) refused; the buffer keeps small pages");
      }
      ByteBuffer buffer = io.newDirectByteBuffer(aligned, size);
      bases.put(buffer, base);
      return buffer;
    }

    @Override
    public void free(ByteBuffer buffer) {
      Long base = bases.remove(buffer);
      if (base != null) {
        io.freeMemory(base);
      }
    }
  }
}
