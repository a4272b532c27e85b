package io.s3cache.cache;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/** The real filesystem, with switchable injected failures. */
final class FaultyFileIo implements BlockFileIo {
  volatile boolean failReads;
  volatile boolean failWrites;
  volatile boolean failMoves;
  /** Opens with O_DIRECT fail, as on a filesystem that does not allow it. */
  volatile boolean refuseDirect;
  /** Run after each successful open for reading (e.g. an eviction racing the read). */
  volatile Runnable afterOpenRead = () -> {};
  final java.util.concurrent.atomic.AtomicInteger readOpens = new java.util.concurrent.atomic.AtomicInteger();

  @Override
  public FileChannel openRead(Path file) throws IOException {
    if (failReads) {
      throw new IOException("injected read failure: " + file);
    }
    FileChannel ch = DEFAULT.openRead(file);
    readOpens.incrementAndGet();
    afterOpenRead.run();
    return ch;
  }

  @Override
  public FileChannel createWrite(Path file, boolean direct) throws IOException {
    if (failWrites) {
      throw new IOException("injected write failure: " + file);
    }
    if (direct && refuseDirect) {
      throw new IOException("injected: O_DIRECT refused (as on some tmpfs): " + file);
    }
    return DEFAULT.createWrite(file, direct);
  }

  @Override
  public void moveAtomic(Path from, Path to) throws IOException {
    if (failMoves) {
      throw new IOException("injected rename failure: " + from);
    }
    DEFAULT.moveAtomic(from, to);
  }

  @Override
  public boolean delete(Path file) throws IOException {
    return DEFAULT.delete(file);
  }
}
