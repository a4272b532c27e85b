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
  /** Opens with O_DIRECT for reading fail as an ordinary error would (not a refusal). */
  volatile boolean failDirectOpens;
  /** Writes into files opened with O_DIRECT fail with ENOSPC (the open itself works). */
  volatile boolean directWritesFindTheDiskFull;
  /** Run after each successful open for reading (e.g. an eviction racing the read). */
  volatile Runnable afterOpenRead = () -> {};
  final java.util.concurrent.atomic.AtomicInteger readOpens = new java.util.concurrent.atomic.AtomicInteger();
  final java.util.concurrent.atomic.AtomicInteger directReadOpens = new java.util.concurrent.atomic.AtomicInteger();

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

  /** Fails as {@link #openRead} does, and as an O_DIRECT open does where {@link #refuseDirect}. */
  @Override
  public FileChannel openReadDirect(Path file) throws IOException {
    if (failReads) {
      throw new IOException("injected read failure: " + file);
    }
    if (refuseDirect) {
      throw new IOException("Invalid argument (injected: O_DIRECT refused, as on some tmpfs): " + file);
    }
    if (failDirectOpens) {
      throw new IOException("Too many open files (injected)");
    }
    FileChannel ch = DEFAULT.openReadDirect(file);
    directReadOpens.incrementAndGet();
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
    FileChannel ch = DEFAULT.createWrite(file, direct);
    return direct && directWritesFindTheDiskFull ? new FullDisk(ch) : ch;
  }

  /** A channel whose writes fail as on a full disk. */
  private static final class FullDisk extends FileChannel {
    private final FileChannel ch;

    FullDisk(FileChannel ch) {
      this.ch = ch;
    }

    private static IOException full() {
      return new IOException("No space left on device");
    }

    @Override
    public int read(java.nio.ByteBuffer dst) throws IOException {
      return ch.read(dst);
    }

    @Override
    public long read(java.nio.ByteBuffer[] dsts, int offset, int length) throws IOException {
      return ch.read(dsts, offset, length);
    }

    @Override
    public int write(java.nio.ByteBuffer src) throws IOException {
      throw full();
    }

    @Override
    public long write(java.nio.ByteBuffer[] srcs, int offset, int length) throws IOException {
      throw full();
    }

    @Override
    public long position() throws IOException {
      return ch.position();
    }

    @Override
    public FileChannel position(long newPosition) throws IOException {
      ch.position(newPosition);
      return this;
    }

    @Override
    public long size() throws IOException {
      return ch.size();
    }

    @Override
    public FileChannel truncate(long size) throws IOException {
      ch.truncate(size);
      return this;
    }

    @Override
    public void force(boolean metaData) throws IOException {
      ch.force(metaData);
    }

    @Override
    public long transferTo(long position, long count, java.nio.channels.WritableByteChannel target) throws IOException {
      return ch.transferTo(position, count, target);
    }

    @Override
    public long transferFrom(java.nio.channels.ReadableByteChannel src, long position, long count) throws IOException {
      throw full();
    }

    @Override
    public int read(java.nio.ByteBuffer dst, long position) throws IOException {
      return ch.read(dst, position);
    }

    @Override
    public int write(java.nio.ByteBuffer src, long position) throws IOException {
      throw full();
    }

    @Override
    public java.nio.MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
      return ch.map(mode, position, size);
    }

    @Override
    public java.nio.channels.FileLock lock(long position, long size, boolean shared) throws IOException {
      return ch.lock(position, size, shared);
    }

    @Override
    public java.nio.channels.FileLock tryLock(long position, long size, boolean shared) throws IOException {
      return ch.tryLock(position, size, shared);
    }

    @Override
    protected void implCloseChannel() throws IOException {
      ch.close();
    }
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
