package io.s3cache.fs;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
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
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
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
 * <p>Stale-while-revalidate: an answer past {@code metadata_ttl} but within {@code
 * metadata_max_stale} is returned at once and its directory is re-listed in the background (one
 * LIST per 1,000 entries refreshes every child), so opens never wait on S3 for what was known. A
 * path whose parent was never listed is looked up again on its own. At most one background refresh
 * runs per directory or path at a time, on at most {@link #REFRESH_THREADS} threads per mount.
 *
 * <p>Thread-safe: the cache is concurrent; two threads resolving the same uncached path may both ask
 * S3 (harmless: the answers are equal). A background re-list applies its answer only if this mount
 * changed nothing in that directory while it ran (a per-directory generation), so it never undoes a
 * write made through the mount.
 */
final class Namespace implements NamespacePort {

  private static final Logger LOG = LoggerFactory.getLogger(Namespace.class);
  private static final int PAGE = 1000;
  /** NAME_MAX: longer names cannot be looked up, so they are not listed either. */
  private static final int MAX_NAME = 255;

  static final int REFRESH_THREADS = 2;
  private static final int GENERATION_SLOTS = 4096; // a power of two

  private final ObjectClient client;
  private final String prefix;
  private final MetadataCache cache;
  private final Instant mountTime;
  private final Executor refresher;
  private final ExecutorService ownedRefresher; // null: the caller owns the refresher
  /** Directories and paths being refreshed in the background now. */
  private final Set<String> refreshing = ConcurrentHashMap.newKeySet();
  /** Per directory, bumped by every change this mount makes in it (see the class comment). */
  private final AtomicLongArray generations = new AtomicLongArray(GENERATION_SLOTS);
  /** First-page LISTs of never-listed directories running now (see {@link #listSmallDirectory}). */
  private final Map<String, CompletableFuture<Listing>> firstPages = new ConcurrentHashMap<>();
  /** Directories found to have more than one page of entries: looked up path by path. */
  private final Cache<String, Boolean> largeDirectories =
      Caffeine.newBuilder().maximumSize(100_000).executor(Runnable::run).build();

  /** A namespace whose background refreshes run on threads of its own (stopped by {@link #close}). */
  Namespace(ObjectClient client, String prefix, MetadataCache cache, Instant mountTime) {
    this(client, prefix, cache, mountTime, null);
  }

  /** @param refresher runs background refreshes; null for threads of its own */
  Namespace(ObjectClient client, String prefix, MetadataCache cache, Instant mountTime,
      Executor refresher) {
    this.client = client;
    this.prefix = prefix;
    this.cache = cache;
    this.mountTime = mountTime;
    if (refresher == null) {
      ThreadPoolExecutor pool = new ThreadPoolExecutor(REFRESH_THREADS, REFRESH_THREADS, 30,
          TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "s3cache-meta-refresh");
            t.setDaemon(true);
            return t;
          });
      pool.allowCoreThreadTimeOut(true);
      this.ownedRefresher = pool;
      this.refresher = pool;
    } else {
      this.ownedRefresher = null;
      this.refresher = refresher;
    }
  }

  /** Stops background refreshes (queued ones are dropped). Idempotent. */
  void close() {
    if (ownedRefresher != null) {
      ownedRefresher.shutdownNow();
    }
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
    var parentAndName = MetadataCache.parentAndName(path);
    String parentDir = parentAndName.get(0);
    MetadataCache.Entry<Node> cached = cache.nodeEntry(path);
    if (cached != null) {
      if (cached.stale()) {
        revalidate(path, parentDir);
      }
      return cached.value();
    }
    MetadataCache.Entry<Listing> parent = cache.listingEntry(parentDir);
    if (parent != null) {
      if (parent.stale()) {
        revalidateListing(parentDir);
      }
      Node fromParent = parent.value().children().get(parentAndName.get(1));
      return fromParent == null ? Node.ABSENT : fromParent;
    }
    Listing listed = listSmallDirectory(parentDir);
    if (listed != null) {
      Node fromParent = listed.children().get(parentAndName.get(1));
      return fromParent == null ? Node.ABSENT : fromParent;
    }
    Node node = lookup(path);
    cache.putNode(path, node);
    return node;
  }

  /**
   * A lookup in a directory never listed: one LIST page of the directory (up to 1,000 entries)
   * answers it and every later lookup there, instead of a LIST and a HEAD per path (a cold epoch
   * over files opened without a readdir). A directory with more entries than one page is
   * remembered and looked up path by path; concurrent lookups in one directory share its LIST.
   *
   * @return the directory's whole listing, now cached, or null for a large directory
   */
  private Listing listSmallDirectory(String dir) throws FsException {
    if (largeDirectories.getIfPresent(dir) != null) {
      return null;
    }
    CompletableFuture<Listing> mine = new CompletableFuture<>();
    CompletableFuture<Listing> running = firstPages.putIfAbsent(dir, mine);
    if (running != null) {
      try {
        return running.join();
      } catch (java.util.concurrent.CompletionException e) {
        return null; // the other lookup's LIST failed: look up path by path
      }
    }
    try {
      long generation = generation(dir);
      Listing listing = fetchListing(dir, 1);
      if (listing == null) {
        largeDirectories.put(dir, Boolean.TRUE);
      } else if (generation(dir) == generation) {
        cache.putListing(dir, listing);
      }
      mine.complete(listing);
      return listing;
    } catch (FsException | RuntimeException e) {
      mine.completeExceptionally(e);
      throw e;
    } finally {
      firstPages.remove(dir, mine);
    }
  }

  /** A stale answer for {@code path}: re-list its directory if that was listed, else look it up. */
  private void revalidate(String path, String parentDir) {
    if (cache.listing(parentDir) != null) {
      revalidateListing(parentDir);
      return;
    }
    String task = "node:" + path;
    long generation = generation(parentDir);
    inBackground(task, () -> {
      Node node = lookup(path);
      if (generation(parentDir) == generation) {
        cache.putNode(path, node);
      }
    });
  }

  private void revalidateListing(String dir) {
    long generation = generation(dir);
    inBackground("dir:" + dir, () -> {
      Listing listing = fetchListing(dir);
      if (generation(dir) == generation) {
        cache.putListing(dir, listing);
      }
    });
  }

  private interface Refresh {
    void run() throws FsException;
  }

  private void inBackground(String task, Refresh refresh) {
    if (!refreshing.add(task)) {
      return;
    }
    try {
      refresher.execute(() -> {
        try {
          refresh.run();
        } catch (FsException | RuntimeException e) {
          // The stale answer stays until metadata_max_stale; the next use tries again.
          LOG.debug("background metadata refresh {} failed: {}", task, e.toString());
        } finally {
          refreshing.remove(task);
        }
      });
    } catch (RejectedExecutionException e) {
      refreshing.remove(task); // closed
    }
  }

  private long generation(String dir) {
    return generations.get(slot(dir));
  }

  /**
   * Generations are striped over a fixed array so they take no memory per path written; two
   * directories sharing a slot only make a re-list of one of them be dropped (the next use of its
   * stale answer starts another).
   */
  private static int slot(String dir) {
    return dir.hashCode() & (GENERATION_SLOTS - 1);
  }

  /**
   * {@code path} changed (through this mount, or by a refresh): a background re-list of its
   * directory, or of itself as a directory, running now is not applied.
   */
  private void changed(String path) {
    generations.incrementAndGet(slot(path));
    if (!path.equals("/")) {
      generations.incrementAndGet(slot(MetadataCache.parentAndName(path).get(0)));
    }
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
    MetadataCache.Entry<Listing> cached = cache.listingEntry(dir);
    if (cached != null) {
      if (cached.stale()) {
        revalidateListing(dir);
      }
      return cached.value();
    }
    Listing listing = fetchListing(dir);
    cache.putListing(dir, listing);
    return listing;
  }

  /** Lists a directory in S3 (every page). */
  private Listing fetchListing(String dir) throws FsException {
    return fetchListing(dir, Integer.MAX_VALUE);
  }

  /** Lists a directory in S3, at most {@code maxPages} pages; null if it has more. */
  private Listing fetchListing(String dir, int maxPages) throws FsException {
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
        if (token != null && --maxPages == 0) {
          return null;
        }
      } while (token != null);
    } catch (ObjectClientException e) {
      throw s3Failure("readdir", dir, e);
    }
    files.forEach((name, node) -> {
      if (children.putIfAbsent(name, node) != null) {
        LOG.debug("object {}{} is hidden by the directory of the same name", keyPrefix, name);
      }
    });
    return new Listing(children);
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
    changed(path);
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
    changed(path);
    cache.putChild(path, node);
    if (node instanceof Node.Directory) {
      cache.putListing(path, new Listing(new LinkedHashMap<>()));
    }
  }

  @Override
  public void removedDirectory(String path) {
    changed(path);
    cache.invalidateTree(path);
    cache.putChild(path, Node.ABSENT);
  }

  Instant mountTime() {
    return mountTime;
  }

  @Override
  public void forget(String path) {
    changed(path);
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
      case ACCESS_DENIED, CREDENTIALS -> Errno.EACCES;
      case PRECONDITION_FAILED -> Errno.ESTALE;
      default -> Errno.EIO;
    };
    // Refused credentials fail every request until renewed: the mount's credentials provider logs
    // that once a minute, with the fix, instead of a line per operation.
    FsException.Level level = e.kind() == ObjectClientException.Kind.CREDENTIALS ? FsException.Level.DEBUG
        : FsException.Level.WARN;
    return new FsException(errno, level, op + " " + path + ": " + e.getMessage(), e);
  }

  /** See {@link S3Filesystem#resolveFiles}: each parent directory is listed once. */
  List<ObjectMeta> resolveFiles(List<String> paths, List<String> shownAs) throws FsException {
    Map<String, Map<String, Node>> listings = new HashMap<>();
    List<ObjectMeta> files = new ArrayList<>(paths.size());
    for (int i = 0; i < paths.size(); i++) {
      String path = paths.get(i);
      String shown = shownAs.get(i);
      int slash = path.lastIndexOf('/');
      if (!path.startsWith("/") || slash == path.length() - 1) {
        throw new FsException(Errno.EINVAL, "not a file path: " + shown);
      }
      String parent = slash == 0 ? "/" : path.substring(0, slash);
      Map<String, Node> children = listings.get(parent);
      if (children == null) {
        Node dir = resolve(parent);
        if (!(dir instanceof Node.Directory)) {
          throw FsException.notFound(shown);
        }
        children = list(parent).children();
        listings.put(parent, children);
      }
      Node node = children.get(path.substring(slash + 1));
      if (node instanceof Node.File f) {
        files.add(f.meta());
      } else if (node instanceof Node.Directory) {
        throw new FsException(Errno.EISDIR, shown + " is a directory");
      } else {
        throw FsException.notFound(shown);
      }
    }
    return files;
  }
}
