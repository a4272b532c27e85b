package io.s3cache.write;

import io.s3cache.fuse.Errno;
import io.s3cache.fuse.FsException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live stages of a writable mount, by path: which paths are staged, what holds each stage
 * (open handles, running cache fills, bytes not uploaded yet) and when a stage is forgotten and its
 * staged file deleted ({@link #dropIfIdle}).
 *
 * <p>Concurrency: the map is concurrent, so lookups ({@link #get}, {@link #contains}, {@link
 * #stagesIn}, {@link #paths}, {@link #all}) take no lock. Membership and each stage's {@code
 * handles}, {@code fills}, {@code unlinked} and {@code path} change under {@code structure}, a
 * monitor private to this class. Lock order: a stage's lock, then {@code structure} (see {@link
 * WriteStage} and docs/THREADING.md): {@link #dropIfIdle} takes the stage's write lock first; every
 * other method takes {@code structure} alone, or under the stage lock its caller holds, and never
 * across an S3 request ({@link #openOrAttach} runs its creator, which may ask S3, outside it). No
 * thread holds two stages' locks: a stage a rename replaces is dropped by the caller after it has
 * let go of the renamed stage's lock. Called on FUSE threads, {@code temp-upload-BUCKET}, {@code
 * cache-fill-BUCKET}, and at mount (recovery) and unmount.
 */
final class WriteStages {

  // the write path logs under one name, io.s3cache.write.WritePath (log configs and greps use it)
  private static final Logger LOG = LoggerFactory.getLogger(WritePath.class);

  private final Map<String, WriteStage> stages = new ConcurrentHashMap<>();
  private final Object structure = new Object();

  /** Makes a stage for a path not staged yet; runs with no lock held (it may ask S3). */
  interface Creator {
    WriteStage create() throws FsException;
  }

  /** What {@link #release} left of a stage. */
  enum Released {
    /** Other handles still hold it. */
    IN_USE,
    /** No handle, but its bytes need an upload: kept (visible in the mount) until uploaded. */
    PENDING,
    /** No handle and nothing to upload. */
    IDLE
  }

  WriteStage get(String path) {
    return stages.get(path);
  }

  boolean contains(String path) {
    return stages.containsKey(path);
  }

  /** The staged paths (a live view). */
  Set<String> paths() {
    return stages.keySet();
  }

  /** A copy of the stages now in the table. */
  List<WriteStage> all() {
    return new ArrayList<>(stages.values());
  }

  void clear() {
    stages.clear();
  }

  /** Staged files directly in directory {@code dir}, by name. */
  Map<String, WriteStage> stagesIn(String dir) {
    String base = dir.equals("/") ? "/" : dir + "/";
    Map<String, WriteStage> found = new java.util.LinkedHashMap<>();
    stages.forEach((path, s) -> {
      if (path.startsWith(base) && path.indexOf('/', base.length()) < 0) {
        found.put(path.substring(base.length()), s);
      }
    });
    return found;
  }

  /** Bytes in staged files not uploaded yet (the {@code write.staged.bytes} gauge). */
  long stagedBytes() {
    long sum = 0;
    for (WriteStage s : stages.values()) {
      if (s.dirty && s.file != null) {
        sum += s.size();
      }
    }
    return sum;
  }

  /**
   * The stage of {@code path} with one more handle; if there is none, {@code creator}'s, with one
   * handle. {@code exclusive} (O_CREAT|O_EXCL): a staged path fails with EEXIST.
   */
  WriteStage openOrAttach(String path, boolean exclusive, Creator creator) throws FsException {
    WriteStage existing = attach(path, exclusive);
    if (existing != null) {
      return existing;
    }
    // Outside the lock: the creator may ask S3 (path lookups) and creates the staged file.
    WriteStage created = creator.create();
    WriteStage winner;
    synchronized (structure) {
      winner = stages.get(path);
      if (winner == null) {
        created.handles = 1;
        stages.put(path, created);
        return created;
      }
      if (!exclusive) {
        winner.handles++;
      }
    }
    // Another open staged the path meanwhile: use its stage, throw ours away.
    if (created.file != null) {
      created.file.delete();
    }
    if (exclusive) {
      throw new FsException(Errno.EEXIST, path + " exists");
    }
    return winner;
  }

  private WriteStage attach(String path, boolean exclusive) throws FsException {
    synchronized (structure) {
      WriteStage s = stages.get(path);
      if (s == null) {
        return null;
      }
      if (exclusive) {
        throw new FsException(Errno.EEXIST, path + " exists");
      }
      s.handles++;
      return s;
    }
  }

  /** A reader of {@code path} while it is staged: the stage (with a handle taken), or null. */
  WriteStage attachReader(String path) {
    synchronized (structure) {
      WriteStage s = stages.get(path);
      if (s == null || s.file == null) {
        return null;
      }
      s.handles++;
      return s;
    }
  }

  /** Gives back one handle on {@code s}. */
  Released release(WriteStage s) {
    synchronized (structure) {
      s.handles--;
      if (s.handles != 0) {
        return Released.IN_USE;
      }
      return s.dirty && !s.unlinked && s.failure == null ? Released.PENDING : Released.IDLE;
    }
  }

  int handles(WriteStage s) {
    synchronized (structure) {
      return s.handles;
    }
  }

  /** Whether {@code s} has no handle and is still its path's stage (not renamed or removed). */
  boolean isClosedAndCurrent(WriteStage s) {
    synchronized (structure) {
      return s.handles <= 0 && stages.get(s.path) == s;
    }
  }

  /** Adds a stage for {@code path} unless one is there; false if one was. */
  boolean putIfAbsent(String path, WriteStage s) {
    synchronized (structure) {
      return stages.putIfAbsent(path, s) == null;
    }
  }

  /** {@code s}, the stage of {@code path}, was unlinked: it leaves the table. */
  void unlinked(String path, WriteStage s) {
    synchronized (structure) {
      s.unlinked = true;
      stages.remove(path, s);
    }
  }

  /** A cache fill from {@code s}'s staged file starts: it keeps the stage until it ends. */
  void fillStarted(WriteStage s) {
    synchronized (structure) {
      s.fills++; // keeps the stage (and its staged file) until the fill ends
    }
  }

  void fillEnded(WriteStage s) {
    synchronized (structure) {
      s.fills--;
    }
  }

  /**
   * Re-keys {@code s}, renamed from {@code from} to {@code to} (its caller holds its write lock): a
   * stage at {@code to} is replaced, and {@code s} stays in the table, under {@code to}, while
   * handles, bytes to upload or a fill hold it. Returns the replaced stage, which the caller drops
   * ({@link #dropIfIdle}) once it holds no stage lock.
   */
  WriteStage move(WriteStage s, String from, String to) {
    synchronized (structure) {
      stages.remove(from, s);
      WriteStage displaced = displace(to, s);
      s.path = to;
      boolean keep = s.handles > 0 || s.dirty || s.fills > 0;
      if (keep) {
        stages.put(to, s);
      }
      return displaced;
    }
  }

  /** The stage now at {@code to} (if another) is replaced by a rename: it becomes unlinked. */
  void replaceStage(String to, WriteStage incoming) {
    WriteStage old = displace(to, incoming);
    if (old != null) {
      dropIfIdle(old);
    }
  }

  /** Takes the stage at {@code to} (if another than {@code incoming}) out of the table, unlinked. */
  WriteStage displace(String to, WriteStage incoming) {
    synchronized (structure) {
      WriteStage old = stages.get(to);
      if (old == null || old == incoming) {
        return null;
      }
      old.unlinked = true;
      stages.remove(to, old);
      return old;
    }
  }

  /** Whether {@code s} is still the stage of {@code path} (not renamed or removed meanwhile). */
  boolean isCurrent(String path, WriteStage s) {
    synchronized (structure) {
      return !s.unlinked && stages.get(path) == s;
    }
  }

  /** Forgets a stage nobody uses whose bytes need no upload, and deletes its staged file. */
  void dropIfIdle(WriteStage s) {
    s.lock.writeLock().lock();
    try {
      synchronized (structure) {
        if (s.handles > 0 || s.fills > 0 || (s.dirty && !s.unlinked && s.failure == null)) {
          return;
        }
        stages.remove(s.path, s);
      }
      s.stopStream("dropped");
      if (s.failure != null && !s.unlinked) {
        LOG.warn("{}: discarding the staged bytes of a file whose write failed ({}); S3 keeps its previous "
            + "version, if any", s.path, s.failure);
      }
      if (s.file != null) {
        s.file.delete();
        s.file = null;
      }
    } finally {
      s.lock.writeLock().unlock();
    }
  }
}
