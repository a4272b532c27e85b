package io.s3cache.cache;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The filesystem calls the disk tier makes on block files, behind one seam so tests can inject
 * I/O failures. {@link #DEFAULT} is the real filesystem.
 */
interface BlockFileIo {

  /** Opens an existing file for reading; NoSuchFileException when it is gone. */
  FileChannel openRead(Path file) throws IOException;

  /**
   * Opens an existing file for reading with {@code O_DIRECT} (reads then need aligned buffers,
   * positions and lengths), which fails where the filesystem does not allow it;
   * NoSuchFileException when it is gone.
   */
  FileChannel openReadDirect(Path file) throws IOException;

  /**
   * Creates a new file for writing (fails if it exists); with {@code direct}, opened with {@code
   * O_DIRECT} (writes then need aligned buffers, positions and lengths), which fails where the
   * filesystem does not allow it.
   */
  FileChannel createWrite(Path file, boolean direct) throws IOException;

  /** Renames {@code from} to {@code to} atomically, replacing {@code to}. */
  void moveAtomic(Path from, Path to) throws IOException;

  /** Deletes a file; returns false if it was already gone. */
  boolean delete(Path file) throws IOException;

  BlockFileIo DEFAULT =
      new BlockFileIo() {
        @Override
        public FileChannel openRead(Path file) throws IOException {
          return FileChannel.open(file, StandardOpenOption.READ);
        }

        @Override
        public FileChannel openReadDirect(Path file) throws IOException {
          return FileChannel.open(file, StandardOpenOption.READ,
              com.sun.nio.file.ExtendedOpenOption.DIRECT);
        }

        @Override
        public FileChannel createWrite(Path file, boolean direct) throws IOException {
          return direct
              ? FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                  com.sun.nio.file.ExtendedOpenOption.DIRECT)
              : FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        }

        @Override
        public void moveAtomic(Path from, Path to) throws IOException {
          Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }

        @Override
        public boolean delete(Path file) throws IOException {
          return Files.deleteIfExists(file);
        }
      };
}
