package io.s3cache.daemon;

import io.s3cache.control.ControlException;
import io.s3cache.fuse.FileAttributes;
import io.s3cache.fuse.FsException;
import io.s3cache.mount.BucketMount;
import io.s3cache.preload.PreloadTarget;
import io.s3cache.s3.ListPage;
import io.s3cache.s3.Listings;
import io.s3cache.s3.ObjectClientException;
import io.s3cache.s3.ObjectMeta;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;

/**
 * Turns a user's path into what it names in S3: a path inside one of the daemon's mounts
 * ("/mnt/data/train", a file or a directory), or an s3:// URL of a mounted bucket.
 */
final class PathResolver {

  private PathResolver() {}

  static PreloadTarget resolve(String path, List<BucketMount> mounts) throws ControlException {
    return path.startsWith("s3://") ? fromUrl(path, mounts) : fromPath(path, mounts);
  }

  /** Every object the target names (one, or all under the prefix). */
  static List<ObjectMeta> objects(PreloadTarget t) throws ControlException {
    try {
      if (!t.prefix()) {
        return List.of(t.object());
      }
      ListPage all = Listings.listAll(t.client(), t.key(), null);
      return all.objects().stream().filter(o -> !o.key().endsWith("/")).toList();
    } catch (ObjectClientException e) {
      throw new ControlException(502, "listing s3://" + t.client().bucket() + "/" + t.key() + " failed: " + e.getMessage());
    }
  }

  /**
   * The mount a path lies in and the path inside it ("/" for the mount point), without asking the
   * filesystem whether it exists (refresh must reach names the cache wrongly holds absent).
   */
  static java.util.Map.Entry<BucketMount, String> mountPath(String path, List<BucketMount> mounts)
      throws ControlException {
    if (path.startsWith("s3://")) {
      throw ControlException.badRequest("refresh takes paths inside a mount, not s3:// URLs: " + path);
    }
    if (path.indexOf('\0') >= 0 || path.length() > 4096) {
      throw ControlException.badRequest("invalid path (NUL byte, or longer than 4096 characters)");
    }
    BucketMount mount = mountOf(path, mounts);
    String rel = mount.mountPoint().relativize(absolute(path)).toString();
    return java.util.Map.entry(mount, rel.isEmpty() ? "/" : "/" + rel);
  }

  /** The mount (of the longest mount point) that holds the absolute path {@code path}. */
  static BucketMount mountOf(String path, List<BucketMount> mounts) throws ControlException {
    Path p = absolute(path);
    return mounts.stream().filter(m -> p.startsWith(m.mountPoint()))
        .max(Comparator.comparingInt(m -> m.mountPoint().getNameCount()))
        .orElseThrow(() -> notUnderMount(path, p, mounts));
  }

  /**
   * 404 for a path under no mount, saying so when a symlink is why: a dataset directory reached
   * through a link to the mount resolves outside it (the daemon matches paths, it does not follow
   * links). The longest existing part of the path is resolved to tell.
   */
  static ControlException notUnderMount(String path, Path p, List<BucketMount> mounts) {
    String hint = "";
    for (Path q = p; q != null; q = q.getParent()) {
      Path real;
      try {
        real = q.toRealPath();
      } catch (java.io.IOException | SecurityException e) {
        continue; // not there (yet): try its parent
      }
      if (!real.equals(q)) {
        Path full = real.resolve(q.relativize(p));
        hint = mounts.stream().anyMatch(m -> full.startsWith(m.mountPoint()))
            ? " (it goes through a symlink: its real path " + full + " is on an s3cache mount; send that path, "
                + "e.g. from realpath)"
            : " (it goes through a symlink to " + full + ", which is not under one either)";
      }
      break;
    }
    return ControlException.notFound(path + " is not under an s3cache mount of this daemon" + hint);
  }

  /** {@code path} inside {@code mount} as its filesystem sees it ("/a/b.jpg"); 400 if outside it. */
  static String fsPath(String path, BucketMount mount) throws ControlException {
    Path p = absolute(path);
    if (!p.startsWith(mount.mountPoint()) || p.equals(mount.mountPoint())) {
      throw ControlException.badRequest(path + " is not a file under " + mount.mountPoint()
          + " (a plan covers the files of one mount)");
    }
    return "/" + mount.mountPoint().relativize(p).toString();
  }

  private static Path absolute(String path) throws ControlException {
    try {
      Path p = Path.of(path);
      if (!p.isAbsolute()) {
        throw ControlException.badRequest("not an absolute path: '" + path + "'");
      }
      return p.normalize();
    } catch (java.nio.file.InvalidPathException e) {
      throw ControlException.badRequest("invalid path '" + path + "'");
    }
  }

  private static PreloadTarget fromPath(String path, List<BucketMount> mounts) throws ControlException {
    Path p;
    try {
      p = Path.of(path).toAbsolutePath().normalize();
    } catch (RuntimeException e) {
      throw ControlException.badRequest("invalid path '" + path + "'");
    }
    BucketMount mount = mounts.stream().filter(m -> p.startsWith(m.mountPoint()))
        .max(Comparator.comparingInt(m -> m.mountPoint().getNameCount()))
        .orElseThrow(() -> notUnderMount(path, p, mounts));
    Path rel = mount.mountPoint().relativize(p);
    String prefix = mount.spec().prefix();
    if (rel.toString().isEmpty()) {
      return new PreloadTarget(mount.client(), prefix, true);
    }
    String fsPath = "/" + rel.toString().replace('\\', '/');
    FileAttributes attrs;
    try {
      attrs = mount.filesystem().getattr(fsPath);
    } catch (FsException e) {
      throw ControlException.notFound(path + ": " + e.getMessage());
    }
    String key = prefix + fsPath.substring(1);
    if (attrs.isDirectory()) {
      return new PreloadTarget(mount.client(), key + "/", true);
    }
    try {
      // What the getattr above resolved (a listing of the directory, mostly) has size and ETag:
      // no HEAD. Null for a file only staged so far: then preload asks S3.
      return new PreloadTarget(mount.client(), key, false, mount.filesystem().storedObject(fsPath));
    } catch (FsException e) {
      throw ControlException.notFound(path + ": " + e.getMessage());
    }
  }

  private static PreloadTarget fromUrl(String url, List<BucketMount> mounts) throws ControlException {
    String rest = url.substring("s3://".length());
    int slash = rest.indexOf('/');
    String bucket = slash < 0 ? rest : rest.substring(0, slash);
    String key = slash < 0 ? "" : rest.substring(slash + 1);
    String body = key.endsWith("/") ? key.substring(0, key.length() - 1) : key;
    for (String component : body.isEmpty() ? new String[0] : body.split("/", -1)) {
      if (component.isEmpty() || component.equals(".") || component.equals("..") || component.indexOf('\0') >= 0) {
        // Such keys are hidden in mounts (SEMANTICS.md, "Paths and keys"); many stores refuse them too.
        throw ControlException.badRequest("invalid key in " + url
            + ": an empty, '.' or '..' component cannot be a path in a mount");
      }
    }
    BucketMount mount = mounts.stream().filter(m -> m.spec().bucket().equals(bucket)).findFirst()
        .orElseThrow(() -> ControlException.notFound("bucket '" + bucket + "' is not mounted by this s3cache daemon"));
    if (key.isEmpty() || key.endsWith("/")) {
      return new PreloadTarget(mount.client(), key, true);
    }
    try {
      mount.client().head(key);
      return new PreloadTarget(mount.client(), key, false);
    } catch (ObjectClientException e) {
      if (e.kind() == ObjectClientException.Kind.NOT_FOUND) {
        return new PreloadTarget(mount.client(), key + "/", true);
      }
      throw new ControlException(502, "cannot read " + url + ": " + e.getMessage());
    }
  }
}
