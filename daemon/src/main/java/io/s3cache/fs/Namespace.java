package io.s3cache.fs;

import io.s3cache.fs.MetadataCache.Listing;
import io.s3cache.fuse.Errno;
import io.s3cache.fuse.FsException;
import io.s3cache.s3.ListPage;
import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectClientException;
import io.s3cache.s3.ObjectMeta;
import io.s3cache.write.NamespacePort;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Maps mount paths onto the bucket's keys and answers "what is this path?" and "what is in this
 * directory?" from the metadata cache or, on a miss, from S3.
 *
 * <p>Mapping: path "/a/b" is key {@code prefix + "a/b"}. A directory is any prefix with keys under it
 * (a marker object "a/" alone makes an empty directory). When an object "a" and a prefix "a/" both
 * exist, the directory wins and the object is hidden, so everything under "a/" stays reachable. Keys
 * whose names cannot be a path component ("", ".", "..", e.g. from "a//b" or "a/./b") are not shown.
 *
 * <p>Thread-safe: the cache is concurrent; two threads resolving the same uncached path may both ask
 * S3 (harmless: the answers are equal).
 */
final class Namespace implements NamespacePort {

  private static final Logger LOG = LoggerFactory.getLogger(Namespace.class);
  private static final int PAGE = 1000;
  /** NAME_MAX: longer names cannot be looked up, so they are not listed either. */
  private static final int MAX_NAME = 255;

  private final ObjectClient client;
  private final String prefix;
  private final MetadataCache cache;
  private final Instant mountTime;

  Namespace(ObjectClient client, String prefix, MetadataCache cache, Instant mountTime) {
    this.client = client;
    this.prefix = prefix;
    this.cache = cache;
    this.mountTime = mountTime;
  }

  @Override
  public String key(String path) {
    return prefix + path.substring(1);
  }

  /** Fails with ENOENT or ENOTDIR unless {@code path} is an existing directory. */
  void requireDirectory(String path) throws FsException {
    Node node = resolve(path);
    if (node instanceof Node.Absent) {
      throw FsException.notFound(path);
    }
    if (!(node instanceof Node.Directory)) {
      throw new FsException(io.s3cache.fuse.Errno.ENOTDIR, path + " is not a directory");
    }
  }

  @Override
  public Node resolve(String path) throws FsException {
    if (path.equals("/")) {
      return new Node.Directory(mountTime);
    }
    checkPath(path);
    Node cached = cache.node(path);
    if (cached != null) {
      return cached;
    }
    var parentAndName = MetadataCache.parentAndName(path);
    Listing parent = cache.listing(parentAndName.get(0));
    if (parent != null) {
      Node fromParent = parent.children().get(parentAndName.get(1));
      return fromParent == null ? Node.ABSENT : fromParent;
    }
    Node node = lookup(path);
    cache.putNode(path, node);
    return node;
  }

  /** Asks S3: a prefix with anything under it is a directory (it wins over an object of the same name). */
  private Node lookup(String path) throws FsException {
    String key = key(path);
    try {
      ListPage under = client.list(key + "/", "/", null, 1);
      if (!under.objects().isEmpty() || !under.commonPrefixes().isEmpty()) {
        return new Node.Directory(mountTime);
      }
      return new Node.File(client.head(key));
    } catch (ObjectClientException e) {
      if (e.kind() == ObjectClientException.Kind.NOT_FOUND) {
        return Node.ABSENT;
      }
      throw s3Failure("lookup", path, e);
    }
  }

  Listing list(String dir) throws FsException {
    Listing cached = cache.listing(dir);
    if (cached != null) {
      return cached;
    }
    String keyPrefix = dir.equals("/") ? prefix : key(dir) + "/";
    Map<String, Node> children = new LinkedHashMap<>();
    Map<String, Node> files = new LinkedHashMap<>();
    String token = null;
    try {
      do {
        ListPage page = client.list(keyPrefix, "/", token, PAGE);
        for (String p : page.commonPrefixes()) {
          String name = p.substring(keyPrefix.length(), p.length() - 1);
          if (isShowable(name)) {
            children.put(name, new Node.Directory(mountTime));
          }
        }
        for (ObjectMeta o : page.objects()) {
          String name = o.key().substring(keyPrefix.length());
          if (isShowable(name)) { // skips the directory's own marker "dir/" (name "")
            files.put(name, new Node.File(o));
          }
        }
        token = page.nextContinuationToken();
      } while (token != null);
    } catch (ObjectClientException e) {
      throw s3Failure("readdir", dir, e);
    }
    files.forEach((name, node) -> {
      if (children.putIfAbsent(name, node) != null) {
        LOG.debug("object {}{} is hidden by the directory of the same name", keyPrefix, name);
      }
    });
    Listing listing = new Listing(children);
    cache.putListing(dir, listing);
    return listing;
  }

  private static boolean isShowable(String name) {
    return !name.isEmpty() && !name.equals(".") && !name.equals("..") && name.indexOf('/') < 0
        && name.indexOf('\0') < 0 && utf8Length(name) <= MAX_NAME;
  }

  /**
   * {@code s3cache refresh}: forgets everything cached at or under {@code path} and the parent's
   * listing, then asks S3 again about the path (and lists it, if it is a directory now).
   *
   * @return the names the path's directory (the path itself if a directory, else its parent) had
   *     before and has now, and how many cached entries were dropped
   */
  Refreshed refresh(String path) throws FsException {
    if (!path.equals("/")) {
      checkPath(path);
    }
    java.util.Set<String> names = new java.util.LinkedHashSet<>();
    Listing before = cache.listing(path);
    if (before != null) {
      names.addAll(before.children().keySet());
    }
    int dropped = cache.invalidateTree(path);
    if (!path.equals("/")) {
      String parent = MetadataCache.parentAndName(path).get(0);
      cache.invalidate(parent);
      dropped++;
    }
    Node now = resolve(path);
    if (now instanceof Node.Directory) {
      names.addAll(list(path).children().keySet());
    }
    return new Refreshed(names, dropped);
  }

  /** What a refresh saw: names of the refreshed directory (old and new) and entries dropped. */
  record Refreshed(java.util.Set<String> names, int dropped) {}

  @Override
  public void written(String path, Node node) {
    cache.putChild(path, node);
    if (node instanceof Node.Directory) {
      cache.putListing(path, new Listing(new LinkedHashMap<>()));
    }
  }

  @Override
  public void removedDirectory(String path) {
    cache.invalidateTree(path);
    cache.putChild(path, Node.ABSENT);
  }

  Instant mountTime() {
    return mountTime;
  }

  @Override
  public void forget(String path) {
    cache.invalidate(path);
    cache.invalidate(MetadataCache.parentAndName(path).get(0));
  }

  private static int utf8Length(String s) {
    return s.getBytes(StandardCharsets.UTF_8).length;
  }

  private static void checkPath(String path) throws FsException {
    if (!path.startsWith("/") || path.endsWith("/") || path.contains("//")) {
      throw new FsException(Errno.EINVAL, "malformed path " + path);
    }
    for (String part : path.substring(1).split("/")) {
      if (utf8Length(part) > MAX_NAME) {
        throw new FsException(Errno.ENAMETOOLONG, "name longer than 255 bytes in " + path);
      }
    }
  }

  @Override
  public void requireParentDirectory(String path) throws FsException {
    requireDirectory(MetadataCache.parentAndName(path).get(0));
  }

  @Override
  public FsException s3Failed(String op, String path, ObjectClientException e) {
    return s3Failure(op, path, e);
  }

  static FsException s3Failure(String op, String path, ObjectClientException e) {
    Errno errno = switch (e.kind()) {
      case NOT_FOUND, NO_SUCH_BUCKET -> Errno.ENOENT;
      case ACCESS_DENIED -> Errno.EACCES;
      case PRECONDITION_FAILED -> Errno.ESTALE;
      default -> Errno.EIO;
    };
    return new FsException(errno, FsException.Level.WARN, op + " " + path + ": " + e.getMessage(), e);
  }

  /** See {@link S3Filesystem#resolveFiles}: each parent directory is listed once. */
  List<ObjectMeta> resolveFiles(List<String> paths) throws FsException {
    Map<String, Map<String, Node>> listings = new HashMap<>();
    List<ObjectMeta> files = new ArrayList<>(paths.size());
    for (String path : paths) {
      int slash = path.lastIndexOf('/');
      if (!path.startsWith("/") || slash == path.length() - 1) {
        throw new FsException(Errno.EINVAL, "not a file path: " + path);
      }
      String parent = slash == 0 ? "/" : path.substring(0, slash);
      Map<String, Node> children = listings.get(parent);
      if (children == null) {
        Node dir = resolve(parent);
        if (!(dir instanceof Node.Directory)) {
          throw FsException.notFound(path);
        }
        children = list(parent).children();
        listings.put(parent, children);
      }
      Node node = children.get(path.substring(slash + 1));
      if (node instanceof Node.File f) {
        files.add(f.meta());
      } else if (node instanceof Node.Directory) {
        throw new FsException(Errno.EISDIR, path + " is a directory");
      } else {
        throw FsException.notFound(path);
      }
    }
    return files;
  }
}
