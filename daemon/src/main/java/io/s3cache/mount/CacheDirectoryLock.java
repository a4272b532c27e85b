package io.s3cache.mount;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import io.s3cache.files.PrivateFiles;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Exclusive use of a cache directory by one process: two processes evicting each other's block
 * files would break both caps. Creating the lock file also proves the directory is writable.
 */
final class CacheDirectoryLock implements AutoCloseable {

  private final FileChannel channel;
  private final FileLock lock;

  private CacheDirectoryLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  static CacheDirectoryLock acquire(Path dir) throws IOException {
    try {
      PrivateFiles.createDirectories(dir);
    } catch (IOException e) {
      throw new IOException("cache dir " + dir + " cannot be created: " + describe(e));
    }
    if (!Files.isDirectory(dir)) {
      throw new IOException("cache dir " + dir + " is not a directory");
    }
    Path probe = dir.resolve(".write-probe");
    try {
      Files.write(probe, new byte[] {1});
      Files.delete(probe);
    } catch (IOException e) {
      throw new IOException("cache dir " + dir + " is not writable: " + describe(e));
    }
    FileChannel channel = FileChannel.open(dir.resolve(".lock"), java.util.Set.of(StandardOpenOption.CREATE,
        StandardOpenOption.WRITE, java.nio.file.LinkOption.NOFOLLOW_LINKS),
        java.nio.file.attribute.PosixFilePermissions.asFileAttribute(PrivateFiles.FILE_MODE));
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      channel.close();
      throw new IOException("cache dir " + dir + " is in use by another s3cache process (a daemon or a foreground mount); give this one its own --cache-dir");
    }
    return new CacheDirectoryLock(channel, lock);
  }

  /** The reason alone ("Not a directory"), without the path the caller already names. */
  private static String describe(IOException e) {
    if (e instanceof java.nio.file.AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof java.nio.file.FileAlreadyExistsException f) {
      return f.getFile() + " exists and is not a directory";
    }
    if (e instanceof java.nio.file.FileSystemException fse && fse.getReason() != null) {
      return fse.getReason();
    }
    return e.getMessage();
  }

  @Override
  public void close() throws IOException {
    try {
      lock.release();
    } finally {
      channel.close();
    }
  }
}
