package io.s3cache.write;

import io.s3cache.fuse.Errno;
import io.s3cache.fuse.FsException;
import io.s3cache.s3.ObjectMeta;
import java.time.Instant;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A file of the mount that has been opened for writing (or is waiting for its upload): the path's
 * current bytes are the staged file's, or, until the first write into an existing object, that
 * object's ({@code base}).
 *
 * <p>State, guarded as marked: {@code handles}, {@code path} and {@code unlinked} by {@link
 * WriteStages}'s structure lock; the bytes, {@code file}, {@code dirty}, {@code failure} and uploads by
 * {@link #lock} — writes hold its read lock (concurrent positional writes are fine), anything that
 * needs the bytes to stand still (upload, truncate, the first copy of {@code base}) its write lock.
 * Lock order: a stage's lock, then the structure lock (never the other way); never two stages'
 * locks at once.
 */
public final class WriteStage {

  final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  volatile String path;
  /** The object the file started from (written into without O_TRUNC), until copied into {@code file}. */
  volatile ObjectMeta base;
  /** Null until the file is staged (new file, truncated, or base copied). */
  volatile StagedFile file;
  /** The bytes differ from what S3 has under the path's key. */
  volatile boolean dirty;
  /** A write failed (ENOSPC, I/O error): the bytes are not what the writer meant; never uploaded. */
  volatile String failure;
  volatile boolean unlinked;
  /** Written to or truncated since staged (a new file never touched is uploaded at release). */
  volatile boolean touched;
  /** S3 may have an object under the path's key (to delete on rename and unlink). */
  volatile boolean inS3;
  volatile Instant mtime = Instant.now();
  /** The version last uploaded from this stage, or null. */
  volatile ObjectMeta uploaded;
  int handles;
  /**
   * The upload that sends parts while a new file is written in order, or null; set once, at the
   * first write at offset 0 (guarded by this object's monitor), consumed by the next upload.
   */
  volatile StreamingUpload stream;
  boolean streamTried; // guarded by this object's monitor
  /** Cache fills from this stage's staged file still running (guarded by the structure lock). */
  int fills;
  /**
   * Bumped before any change to the staged bytes (under the read or write lock), so a cache fill
   * that started from an upload can tell its bytes still are that upload's.
   */
  final java.util.concurrent.atomic.AtomicLong generation = new java.util.concurrent.atomic.AtomicLong();

  WriteStage(String path, ObjectMeta base) {
    this.path = path;
    this.base = base;
  }

  /** The file's path in the mount (it changes when the file is renamed). */
  public String path() {
    return path;
  }

  /** The object a read serves while the stage holds no copy of it yet, or null. */
  public ObjectMeta base() {
    return base;
  }

  public Instant mtime() {
    return mtime;
  }

  /**
   * Held by a read of the stage, so that the staged bytes and {@link #base} stand still under it
   * (writes hold it too; uploads, truncates and the first copy of the base wait).
   */
  public Lock readLock() {
    return lock.readLock();
  }

  public long size() {
    StagedFile f = file;
    if (f != null) {
      try {
        return f.length();
      } catch (java.io.IOException e) {
        return 0;
      }
    }
    return base == null ? 0 : base.size();
  }

  /** The file's name: the last component of its path. */
  String name() {
    String p = path;
    return p.substring(p.lastIndexOf('/') + 1);
  }

  /** A new file nobody has written to or truncated yet (empty, not in S3). */
  boolean isUntouchedNewFile() {
    return !touched && !inS3 && failure == null && size() == 0;
  }

  /** Refuses to go on with bytes an earlier write failed to stage (they are never uploaded). */
  void checkUsable() throws FsException {
    if (failure != null) {
      Errno errno = failure.startsWith("the cache disk is full") ? Errno.ENOSPC : Errno.EIO;
      throw new FsException(errno, FsException.Level.WARN, path + ": an earlier write failed (" + failure
          + "); the file is not uploaded", null);
    }
  }

  /** Breaks off the stage's streaming upload, if any (its file no longer grows in order). */
  void stopStream(String why) {
    StreamingUpload st = stream;
    if (st != null) {
      stream = null;
      st.breakOff(why); // aborts it in S3
      StagedFile f = file;
      if (f != null) {
        CloseUploads.journalUpload(f, null);
      }
    }
  }
}
