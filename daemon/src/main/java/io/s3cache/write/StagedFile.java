package io.s3cache.write;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Properties;

/**
 * One file being written: its bytes in {@code ID.data} under the staging directory, and a journal
 * entry {@code ID.meta} next to it (bucket, key, state) so a restart knows what the bytes are and
 * whether the writer had closed them. The journal is rewritten (temp file + rename) only when the
 * key or the state changes, never per write.
 *
 * <p>Thread-safe for positional reads and writes (FileChannel); callers serialise the journal
 * changes and the truncations (the filesystem's per-file lock).
 */
final class StagedFile {

  /** What the journal says about the bytes. */
  enum State {
    /** A writer has it open: the bytes may be incomplete. Not uploaded after a crash. */
    OPEN,
    /** Closed (or fsynced) by its writer and not yet in S3: uploaded at the next mount. */
    CLOSED,
    /** In S3 as written: nothing to do after a crash but delete it. */
    UPLOADED
  }

  private final StagingArea area;
  private final String id;
  private final Path data;
  private final Path meta;
  private final FileChannel channel;
  private final String bucket;
  private volatile String key;
  private volatile State state;
  private volatile String upload; // a multipart upload started while writing, to abort after a crash

  StagedFile(StagingArea area, String id, String bucket, String key, State state, boolean create) throws IOException {
    this.area = area;
    this.id = id;
    this.data = area.dir().resolve(id + ".data");
    this.meta = area.dir().resolve(id + ".meta");
    this.bucket = bucket;
    this.key = key;
    this.state = state;
    this.channel = create
        ? FileChannel.open(data, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE)
        : FileChannel.open(data, StandardOpenOption.READ, StandardOpenOption.WRITE);
    if (create) {
      try {
        writeJournal();
      } catch (IOException e) {
        channel.close();
        Files.deleteIfExists(data);
        throw e;
      }
    }
  }

  String id() {
    return id;
  }

  String bucket() {
    return bucket;
  }

  String key() {
    return key;
  }

  State state() {
    return state;
  }

  /** The data file (for uploads, which read it themselves). */
  Path path() {
    return data;
  }

  long length() throws IOException {
    return channel.size();
  }

  /** Writes all of {@code src} at {@code offset}; a full disk surfaces as the IOException. */
  void write(long offset, ByteBuffer src) throws IOException {
    long pos = offset;
    while (src.hasRemaining()) {
      pos += channel.write(src, pos);
    }
  }

  /** Reads at most {@code dst.remaining()} bytes at {@code offset}; returns the bytes read (0 at the end). */
  int read(long offset, ByteBuffer dst) throws IOException {
    int total = 0;
    while (dst.hasRemaining()) {
      int n = channel.read(dst, offset + total);
      if (n <= 0) {
        break;
      }
      total += n;
    }
    return total;
  }

  /** Cuts or extends (with zeros) the file to {@code size} bytes. */
  void setLength(long size) throws IOException {
    long now = channel.size();
    if (size < now) {
      channel.truncate(size);
    } else if (size > now) {
      channel.write(ByteBuffer.allocate(1), size - 1);
    }
  }

  /** Makes the bytes durable on the cache disk (fsync of a file that is not uploaded). */
  void force() throws IOException {
    channel.force(false);
  }

  /** Records a new state (and key) in the journal; no-op when both are unchanged. */
  synchronized void record(String newKey, State newState) throws IOException {
    if (newKey.equals(key) && newState == state) {
      return;
    }
    String oldKey = key;
    State oldState = state;
    key = newKey;
    state = newState;
    try {
      writeJournal();
    } catch (IOException e) {
      key = oldKey;
      state = oldState;
      throw e;
    }
  }

  /**
   * Records the id of a multipart upload started while the file is written (null: none any more),
   * so that a restart after a crash can abort it instead of leaving its parts in S3.
   */
  synchronized void recordUpload(String uploadId) throws IOException {
    if (java.util.Objects.equals(uploadId, upload) || !channel.isOpen()) { // closed: deleted or handed over
      return;
    }
    String old = upload;
    upload = uploadId;
    try {
      writeJournal();
    } catch (IOException e) {
      upload = old;
      throw e;
    }
  }

  private void writeJournal() throws IOException {
    Properties p = new Properties();
    p.setProperty("bucket", bucket);
    p.setProperty("key", key);
    p.setProperty("state", state.name());
    if (upload != null) {
      p.setProperty("upload", upload);
    }
    Path temp = meta.resolveSibling(id + ".meta.tmp");
    try (var out = Files.newOutputStream(temp)) {
      p.store(out, "s3cache staged file " + id + ".data");
    }
    Files.move(temp, meta, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /** Closes and deletes the data and the journal entry. Never throws. */
  void delete() {
    try {
      channel.close();
    } catch (IOException e) {
      // deleting anyway
    }
    try {
      Files.deleteIfExists(meta);
      Files.deleteIfExists(data);
    } catch (IOException e) {
      area.warn("cannot delete staged file " + data + ": " + e);
    }
    area.forget(id);
  }

  /** Closes the channel, leaving data and journal on disk (shutdown with an upload still owed). */
  void closeKeeping() {
    try {
      channel.close();
    } catch (IOException e) {
      // the bytes are on disk already
    }
    area.forget(id);
  }

  static void checkInterrupt() throws InterruptedIOException {
    if (Thread.currentThread().isInterrupted()) {
      throw new InterruptedIOException();
    }
  }

  @Override
  public String toString() {
    return data + " (s3://" + bucket + "/" + key + ", " + state + ")";
  }
}
