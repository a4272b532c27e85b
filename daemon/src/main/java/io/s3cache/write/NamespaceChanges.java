package io.s3cache.write;

import io.s3cache.fs.Node;
import io.s3cache.fuse.Errno;
import io.s3cache.fuse.FsException;
import io.s3cache.s3.ListPage;
import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectClientException;
import io.s3cache.s3.ObjectMeta;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;

/**
 * Changes to the tree of a writable mount that act on S3 directly: unlink, mkdir, rmdir and rename
 * of files (a staged file is re-keyed, or uploaded once to its new name), keeping the stage table
 * and the metadata cache in step.
 *
 * <p>Concurrency: runs on FUSE threads. unlink and rename of a staged file hold its write lock
 * across their S3 requests (deletes, a server-side copy, or the upload to the new key), then take
 * {@link WriteStages}'s structure lock under it; mkdir, rmdir and changes to files not staged take
 * no lock.
 */
final class NamespaceChanges {

  private static final Path EMPTY = Path.of("/dev/null");

  private final NamespacePort ns;
  private final ObjectClient client;
  private final WriteStages table;
  private final CloseUploads uploads;
  private final KeyLocks keys;

  NamespaceChanges(NamespacePort ns, ObjectClient client, WriteStages table, CloseUploads uploads, KeyLocks keys) {
    this.keys = keys;
    this.ns = ns;
    this.client = client;
    this.table = table;
    this.uploads = uploads;
  }

  void unlink(String path) throws FsException {
    while (!unlinkOnce(path)) {
      // the stage looked up was renamed or removed before its lock was ours: look again
    }
  }

  /** One try of {@link #unlink}; false when the stage of {@code path} changed under it. */
  private boolean unlinkOnce(String path) throws FsException {
    WriteStage s = table.get(path);
    if (s == null) {
      Node node = ns.resolve(path);
      if (node instanceof Node.Directory) {
        throw new FsException(Errno.EISDIR, path + " is a directory");
      }
      if (!(node instanceof Node.File)) {
        throw FsException.notFound(path);
      }
      delete(path, ns.key(path));
      ns.written(path, Node.ABSENT);
      return true;
    }
    s.lock.writeLock().lock();
    try {
      if (!table.isCurrent(path, s)) {
        return false;
      }
      s.stopStream("removed");
      if (s.inS3) {
        delete(path, ns.key(path));
      }
      table.unlinked(path, s);
      ns.written(path, Node.ABSENT);
    } finally {
      s.lock.writeLock().unlock();
    }
    table.dropIfIdle(s);
    return true;
  }

  void mkdir(String path) throws FsException {
    if (table.contains(path) || !(ns.resolve(path) instanceof Node.Absent)) {
      throw new FsException(Errno.EEXIST, path + " exists");
    }
    ns.requireParentDirectory(path);
    try {
      client.put(ns.key(path) + "/", EMPTY, 0, 0);
    } catch (ObjectClientException e) {
      throw ns.s3Failed("mkdir", path, e);
    }
    ns.written(path, new Node.Directory(Instant.now()));
  }

  void rmdir(String path) throws FsException {
    Node node = ns.resolve(path);
    if (node instanceof Node.Absent) {
      throw FsException.notFound(path);
    }
    if (!(node instanceof Node.Directory)) {
      throw new FsException(Errno.ENOTDIR, path + " is not a directory");
    }
    if (path.equals("/")) {
      throw new FsException(Errno.EINVAL, "cannot remove the mount's root");
    }
    String marker = ns.key(path) + "/";
    for (String p : table.paths()) {
      if (p.startsWith(path + "/")) {
        throw new FsException(Errno.ENOTEMPTY, path + " is not empty (" + p + " is being written)");
      }
    }
    try {
      ListPage page = client.list(marker, "/", null, 2);
      boolean empty = page.commonPrefixes().isEmpty()
          && page.objects().stream().allMatch(o -> o.key().equals(marker));
      if (!empty) {
        throw new FsException(Errno.ENOTEMPTY, path + " is not empty");
      }
      client.delete(marker);
    } catch (ObjectClientException e) {
      throw ns.s3Failed("rmdir", path, e);
    }
    ns.removedDirectory(path);
  }

  /**
   * rename(2) of a file. A staged file closed but not uploaded (a temp file, or a failed upload) is
   * uploaded once, to the new key; one still open is re-keyed and uploads to the new key at its
   * close; a file only in S3 is copied server-side and deleted. Directories: EXDEV.
   */
  void rename(String from, String to) throws FsException {
    if (from.equals(to)) {
      return;
    }
    while (!renameOnce(from, to)) {
      // the stage looked up was renamed or removed before its lock was ours: look again
    }
  }

  /** One try of {@link #rename}; false when the stage of {@code from} changed under it. */
  private boolean renameOnce(String from, String to) throws FsException {
    Node target = table.contains(to) ? null : ns.resolve(to);
    if (target instanceof Node.Directory) {
      throw new FsException(Errno.EISDIR, to + " is a directory");
    }
    ns.requireParentDirectory(to);
    WriteStage s = table.get(from);
    if (s == null) {
      Node node = ns.resolve(from);
      if (node instanceof Node.Directory) {
        throw new FsException(Errno.EXDEV, FsException.Level.INFO,
            "rename of directory " + from + " is not supported (mv copies and deletes instead)", null);
      }
      if (!(node instanceof Node.File f)) {
        throw FsException.notFound(from);
      }
      if (f.meta().size() > WriteConfig.MAX_PART_SIZE) {
        throw new FsException(Errno.EFBIG, FsException.Level.INFO, "rename of " + from + ": a server-side copy "
            + "is limited to 5 GiB (S3's CopyObject); copy the file instead", null);
      }
      ObjectMeta copied;
      WriteStage replaced;
      java.util.concurrent.locks.ReentrantLock toKeyLock = keys.of(ns.key(to));
      toKeyLock.lock(); // no upload to the new key lands between the copy and taking its stage out
      try {
        try {
          copied = client.copy(ns.key(from), ns.key(to));
        } catch (ObjectClientException e) {
          throw ns.s3Failed("rename", from, e);
        }
        replaced = table.displace(to, null);
        ns.written(to, new Node.File(copied));
      } finally {
        toKeyLock.unlock();
      }
      if (replaced != null) {
        table.dropIfIdle(replaced);
      }
      delete(from, ns.key(from));
      ns.written(from, Node.ABSENT);
      return true;
    }
    String toKey = ns.key(to);
    String fromKey = ns.key(from);
    CloseUploads.Uploaded renamed = null;
    WriteStage displaced = null;
    java.util.concurrent.locks.ReentrantLock toKeyLock = null;
    s.lock.writeLock().lock();
    try {
      if (!table.isCurrent(from, s)) {
        return false;
      }
      s.checkUsable();
      s.stopStream("renamed");
      toKeyLock = keys.of(toKey);
      toKeyLock.lock(); // released before the stage lock, below
      boolean open = table.handles(s) > 0;
      ObjectMeta meta = null;
      boolean wasInS3 = s.inS3;
      if (s.dirty && !open) {
        try {
          renamed = uploads.uploadLocked(s, toKey); // one upload, straight to the final key
        } catch (FsException e) {
          journalKey(s, fromKey); // the file stays at its old name: a restart uploads it there
          throw e;
        }
        meta = renamed.meta();
      } else if (!s.dirty) {
        if (s.size() > WriteConfig.MAX_PART_SIZE) {
          throw new FsException(Errno.EFBIG, FsException.Level.INFO, "rename of " + from + ": a server-side copy "
              + "is limited to 5 GiB (S3's CopyObject)", null);
        }
        try {
          meta = client.copy(fromKey, toKey);
        } catch (ObjectClientException e) {
          throw ns.s3Failed("rename", from, e);
        }
      } else if (s.file != null) {
        try {
          s.file.record(toKey, s.file.state()); // still being written: its close uploads to the new key
        } catch (IOException e) {
          throw new FsException(Errno.EIO, FsException.Level.WARN, "rename of staged " + from + ": " + e, e);
        }
      }
      if (wasInS3) {
        try {
          delete(from, fromKey);
        } catch (FsException e) {
          if (meta != null) {
            ns.written(to, new Node.File(meta)); // the new name is in S3 already; the old one stays too
          }
          throw e;
        }
      }
      // The new key may hold an object (just uploaded or copied, or one the open file replaces at its
      // close): an unlink or a later rename must delete it. Deleting a missing key is harmless.
      s.inS3 = true;
      displaced = table.move(s, from, to);
      ns.written(from, Node.ABSENT);
      if (meta != null) {
        ns.written(to, new Node.File(meta));
      } else {
        ns.forget(to);
      }
    } finally {
      if (toKeyLock != null) {
        toKeyLock.unlock();
      }
      s.lock.writeLock().unlock();
      if (renamed != null) {
        uploads.startFill(s, renamed);
      }
    }
    if (displaced != null) {
      table.dropIfIdle(displaced);
    }
    table.dropIfIdle(s);
    return true;
  }

  private static void journalKey(WriteStage s, String key) {
    try {
      s.file.record(key, s.file.state());
    } catch (IOException e) {
      // the rename already failed; a restart would upload to the new name instead
    }
  }

  private void delete(String path, String key) throws FsException {
    try {
      client.delete(key);
    } catch (ObjectClientException e) {
      throw ns.s3Failed("delete", path, e);
    }
  }
}
