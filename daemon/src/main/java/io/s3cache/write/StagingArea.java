package io.s3cache.write;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code staging/} directory under the cache directory, shared by every mount of a process.
 * Staged files live outside the disk tier's {@code disk_cache} cap; before a write would leave less
 * than {@code room} free on the filesystem, the area asks the disk tier to give way (evict its own
 * blocks), so a writer gets ENOSPC only when the filesystem is full of other things.
 *
 * <p>Knows which staged files this process has open ({@link #live}), so recovery at a mount never
 * takes a file another mount of this process is writing. Thread-safe.
 */
public final class StagingArea {

  private static final Logger LOG = LoggerFactory.getLogger(StagingArea.class);

  /** A journal entry found on disk: a staged file left by an earlier process (or a failed upload). */
  /** @param upload a multipart upload started while the file was written and never completed, or null */
  record Leftover(String id, String bucket, String key, StagedFile.State state, Path data, String upload) {}

  private final Path dir;
  private final FileStore store;
  private final LongConsumer makeRoom;
  private final Set<String> live = ConcurrentHashMap.newKeySet();

  /**
   * @param makeRoom asked to free at least the given bytes on the filesystem (the disk tier's
   *     eviction), best effort
   */
  public StagingArea(Path dir, LongConsumer makeRoom) throws IOException {
    this.dir = Files.createDirectories(dir);
    this.store = Files.getFileStore(dir);
    this.makeRoom = makeRoom;
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "*.meta.tmp")) {
      for (Path p : s) {
        Files.deleteIfExists(p); // a journal rewrite cut short: the previous entry still stands
      }
    }
  }

  Path dir() {
    return dir;
  }

  /** A new, empty staged file for {@code bucket}/{@code key} with journal state OPEN. */
  StagedFile create(String bucket, String key) throws IOException {
    String id = UUID.randomUUID().toString();
    live.add(id);
    try {
      return new StagedFile(this, id, bucket, key, StagedFile.State.OPEN, true);
    } catch (IOException | RuntimeException e) {
      live.remove(id);
      throw e;
    }
  }

  /** Takes over a leftover (for upload by this process). */
  StagedFile adopt(Leftover l) throws IOException {
    if (!live.add(l.id())) {
      throw new IOException("staged file " + l.id() + " is in use");
    }
    try {
      return new StagedFile(this, l.id(), l.bucket(), l.key(), l.state(), false);
    } catch (IOException | RuntimeException e) {
      live.remove(l.id());
      throw e;
    }
  }

  /**
   * Journal entries on disk for {@code bucket} whose key starts with {@code prefix}, not in use by
   * this process. An entry without its data file, or unreadable, is reported and removed.
   */
  List<Leftover> leftovers(String bucket, String prefix) throws IOException {
    List<Leftover> found = new ArrayList<>();
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "*.meta")) {
      for (Path meta : s) {
        String name = meta.getFileName().toString();
        String id = name.substring(0, name.length() - ".meta".length());
        if (live.contains(id)) {
          continue;
        }
        Properties p = new Properties();
        Path data = dir.resolve(id + ".data");
        try (InputStream in = Files.newInputStream(meta)) {
          p.load(in);
          StagedFile.State state = StagedFile.State.valueOf(p.getProperty("state"));
          String b = p.getProperty("bucket");
          String key = p.getProperty("key");
          if (b == null || key == null) {
            throw new IOException("bucket or key missing");
          }
          if (!Files.exists(data)) {
            LOG.warn("staging: journal entry {} names s3://{}/{} but its data file is gone; dropped", meta, b, key);
            Files.deleteIfExists(meta);
            continue;
          }
          if (b.equals(bucket) && key.startsWith(prefix)) {
            found.add(new Leftover(id, b, key, state, data, p.getProperty("upload")));
          }
        } catch (IOException | RuntimeException e) {
          LOG.warn("staging: unreadable journal entry {} ({}); moved aside with its data", meta, e.toString());
          moveAside(meta, data);
        }
      }
    }
    return found;
  }

  /** Moves a leftover that must not be uploaded to {@code staging/incomplete/}, for a person to look at. */
  Path moveAside(Path meta, Path data) {
    try {
      Path aside = Files.createDirectories(dir.resolve("incomplete"));
      if (Files.exists(data)) {
        Files.move(data, aside.resolve(data.getFileName()), StandardCopyOption.REPLACE_EXISTING);
      }
      if (Files.exists(meta)) {
        Files.move(meta, aside.resolve(meta.getFileName()), StandardCopyOption.REPLACE_EXISTING);
      }
      return aside.resolve(data.getFileName());
    } catch (IOException e) {
      LOG.warn("staging: cannot move {} aside: {}", data, e.toString());
      return data;
    }
  }

  /** Asks the disk tier to make room when fewer than {@code bytes} (plus slack) are free. */
  void ensureRoom(long bytes) {
    long want = bytes + (4L << 20);
    try {
      if (store.getUsableSpace() < want) {
        makeRoom.accept(want);
      }
    } catch (IOException e) {
      // the write itself will tell
    }
  }

  void forget(String id) {
    live.remove(id);
  }

  void warn(String message) {
    LOG.warn("staging: {}", message);
  }
}
