package io.s3cache.fuse;

/**
 * The open(2) flags of an open or create, as the kernel passed them (Linux values), with the
 * questions the filesystem asks of them. The only place s3cache spells out {@code O_*} values.
 *
 * @param raw the flags word
 */
public record OpenFlags(int raw) {

  public static final int O_RDONLY = 0;
  public static final int O_WRONLY = 01;
  public static final int O_RDWR = 02;
  public static final int O_ACCMODE = 03;
  public static final int O_EXCL = 0200;
  public static final int O_TRUNC = 01000;
  public static final int O_APPEND = 02000;

  /** A plain open for reading. */
  public static final OpenFlags READ_ONLY = new OpenFlags(O_RDONLY);

  /** Opened for reading only (access mode O_RDONLY). */
  public boolean readOnly() {
    return (raw & O_ACCMODE) == O_RDONLY;
  }

  /** Opened for writing (access mode O_WRONLY or O_RDWR). */
  public boolean write() {
    return !readOnly();
  }

  /** O_TRUNC: the file is emptied at open. */
  public boolean truncate() {
    return (raw & O_TRUNC) != 0;
  }

  /** O_EXCL: create fails when the file exists. */
  public boolean exclusive() {
    return (raw & O_EXCL) != 0;
  }

  /** O_APPEND: every write goes to the end (the kernel passes the offsets). */
  public boolean append() {
    return (raw & O_APPEND) != 0;
  }
}
