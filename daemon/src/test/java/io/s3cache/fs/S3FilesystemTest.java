package io.s3cache.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.MetricRegistry;
import com.github.benmanes.caffeine.cache.Ticker;
import io.s3cache.cache.BlockCache;
import io.s3cache.cache.BlockKey;
import io.s3cache.fuse.DirEntry;
import io.s3cache.fuse.Errno;
import io.s3cache.fuse.FileAttributes;
import io.s3cache.fuse.FsException;
import io.s3cache.fuse.OpenFile;
import io.s3cache.fuse.OpenFlags;
import io.s3cache.testing.InMemoryObjectClient;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class S3FilesystemTest {

  /** A block cache that caches nothing: every get reads the client, so tests see every request. */
  private static final class PassThroughCache implements BlockCache {
    private final InMemoryObjectClient client;
    private final int blockSize;

    PassThroughCache(InMemoryObjectClient client, int blockSize) {
      this.client = client;
      this.blockSize = blockSize;
    }

    @Override
    public int blockSize() {
      return blockSize;
    }

    @Override
    public ByteBuffer get(BlockKey key, int length) throws java.io.IOException {
      ByteBuffer b = ByteBuffer.allocateDirect(length);
      client.getRange(key.key(), key.etag(), key.index() * blockSize, b);
      return b.flip().asReadOnlyBuffer();
    }

    @Override
    public void close() {}
  }

  private final AtomicLong nanos = new AtomicLong();
  private final Ticker ticker = nanos::get;
  private final InMemoryObjectClient client = new InMemoryObjectClient("bkt");

  private S3Filesystem fs(String prefix, Duration ttl) {
    return S3Filesystem.builder(new FsConfig("bkt", prefix, ttl, 1000, 1000, 0444, 0555), client,
        new PassThroughCache(client, 64 * 1024), new MetricRegistry()).ticker(ticker).build();
  }

  private static byte[] bytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static List<String> names(List<DirEntry> entries) {
    return entries.stream().map(DirEntry::name).toList();
  }

  @Test
  void listsNestedPrefixesAsDirectories() throws Exception {
    client.put("data/a.txt", "a".getBytes(StandardCharsets.UTF_8));
    client.put("data/sub/b.txt", "bb".getBytes(StandardCharsets.UTF_8));
    client.put("data/sub/deeper/c.txt", "ccc".getBytes(StandardCharsets.UTF_8));
    client.put("other/x", new byte[1]);
    S3Filesystem fs = fs("data", Duration.ofSeconds(60));

    assertEquals(List.of("sub", "a.txt"), names(fs.readdir("/")));
    assertEquals(List.of("deeper", "b.txt"), names(fs.readdir("/sub")));
    assertTrue(fs.getattr("/sub/deeper").isDirectory());
    FileAttributes c = fs.getattr("/sub/deeper/c.txt");
    assertEquals(3, c.size());
    assertEquals(0444, c.permissions());
    assertEquals(1000, c.uid());
    assertEquals(Errno.ENOENT, assertThrows(FsException.class, () -> fs.getattr("/x")).errno());
  }

  @Test
  void directoryWinsOverObjectOfSameNameAndMarkerMakesEmptyDirectory() throws Exception {
    client.put("a", "file".getBytes(StandardCharsets.UTF_8));
    client.put("a/inside", "in".getBytes(StandardCharsets.UTF_8));
    client.put("empty/", new byte[0]);
    S3Filesystem fs = fs("", Duration.ofSeconds(60));

    assertTrue(fs.getattr("/a").isDirectory());
    assertEquals(List.of("a", "empty"), names(fs.readdir("/")));
    assertTrue(fs.getattr("/empty").isDirectory());
    assertEquals(List.of(), names(fs.readdir("/empty")));
    assertEquals(2, fs.getattr("/a/inside").size());
  }

  @Test
  void uncachedLookupAlsoPrefersDirectory() throws Exception {
    client.put("a", "file".getBytes(StandardCharsets.UTF_8));
    client.put("a/inside", "in".getBytes(StandardCharsets.UTF_8));
    assertTrue(fs("", Duration.ofSeconds(60)).getattr("/a").isDirectory());
  }

  @Test
  void keysThatCannotBePathsAreHidden() throws Exception {
    client.put("d//double", new byte[1]);
    client.put("d/./dot", new byte[1]);
    client.put("d/ok", new byte[1]);
    S3Filesystem fs = fs("", Duration.ofSeconds(60));
    assertEquals(List.of("ok"), names(fs.readdir("/d")));
  }

  @Test
  void readsAcrossBlockBoundariesAndStopsAtEndOfFile() throws Exception {
    byte[] content = bytes(300_000, 1);
    client.put("f.bin", content);
    S3Filesystem fs = fs("", Duration.ofSeconds(60));
    OpenFile f = fs.open("/f.bin", OpenFlags.READ_ONLY);
    Random random = new Random(2);
    for (int i = 0; i < 200; i++) {
      int offset = random.nextInt(content.length);
      int length = 1 + random.nextInt(200_000);
      ByteBuffer dst = ByteBuffer.allocate(length);
      int n = fs.read(f.handle(), offset, dst);
      assertEquals(Math.min(length, content.length - offset), n);
      byte[] expected = java.util.Arrays.copyOfRange(content, offset, offset + n);
      assertArrayEquals(expected, java.util.Arrays.copyOf(dst.array(), n), "offset " + offset);
    }
    assertEquals(0, fs.read(f.handle(), content.length, ByteBuffer.allocate(10)));
    fs.release(f.handle());
    assertEquals(0, fs.openHandles());
  }

  @Test
  void writesAreRefusedWithErofs() throws Exception {
    client.put("f", new byte[1]);
    S3Filesystem fs = fs("", Duration.ofSeconds(60));
    assertEquals(Errno.EROFS, assertThrows(FsException.class, () -> fs.open("/f", new OpenFlags(OpenFlags.O_WRONLY))).errno());
    assertEquals(Errno.EROFS, assertThrows(FsException.class, () -> fs.open("/f", new OpenFlags(OpenFlags.O_TRUNC))).errno());
    assertEquals(Errno.EROFS, assertThrows(FsException.class, () -> fs.mkdir("/d", 0755)).errno());
    assertEquals(Errno.EROFS, assertThrows(FsException.class, () -> fs.unlink("/f")).errno());
  }

  @Test
  void errnosForMissingDirectoryAndBadHandle() throws Exception {
    client.put("d/f", new byte[1]);
    S3Filesystem fs = fs("", Duration.ofSeconds(60));
    assertEquals(Errno.ENOENT, assertThrows(FsException.class, () -> fs.open("/nope", OpenFlags.READ_ONLY)).errno());
    assertEquals(Errno.EISDIR, assertThrows(FsException.class, () -> fs.open("/d", OpenFlags.READ_ONLY)).errno());
    assertEquals(Errno.ENOTDIR, assertThrows(FsException.class, () -> fs.readdir("/d/f")).errno());
    assertEquals(Errno.ENOENT, assertThrows(FsException.class, () -> fs.readdir("/nope")).errno());
    assertEquals(Errno.EBADF, assertThrows(FsException.class, () -> fs.read(99, 0, ByteBuffer.allocate(1))).errno());
    String longName = "/" + "x".repeat(256);
    assertEquals(Errno.ENAMETOOLONG, assertThrows(FsException.class, () -> fs.getattr(longName)).errno());
  }

  @Test
  void metadataIsTrustedForTheTtlThenRefetched() throws Exception {
    client.put("f", "one".getBytes(StandardCharsets.UTF_8));
    S3Filesystem fs = fs("", Duration.ofSeconds(60));
    assertEquals(3, fs.getattr("/f").size());
    int requests = client.requests();
    client.put("f", "three".getBytes(StandardCharsets.UTF_8));
    assertEquals(3, fs.getattr("/f").size(), "within the TTL the cached stat is used");
    assertEquals(requests, client.requests());
    nanos.addAndGet(Duration.ofSeconds(61).toNanos());
    assertEquals(5, fs.getattr("/f").size(), "after the TTL the new object is seen");
  }

  @Test
  void zeroTtlAsksEveryTimeAndNegativeLookupsExpire() throws Exception {
    S3Filesystem fs = fs("", Duration.ZERO);
    assertThrows(FsException.class, () -> fs.getattr("/late"));
    client.put("late", new byte[2]);
    assertEquals(2, fs.getattr("/late").size());
  }

  @Test
  void openHandleKeepsItsVersionAndKeepCacheOnlyForUnchangedObjects() throws Exception {
    client.put("f", "old!".getBytes(StandardCharsets.UTF_8));
    S3Filesystem fs = fs("", Duration.ZERO);
    OpenFile first = fs.open("/f", OpenFlags.READ_ONLY);
    assertFalse(first.keepPageCache(), "first open: nothing cached to keep");
    fs.release(first.handle());
    OpenFile second = fs.open("/f", OpenFlags.READ_ONLY);
    assertTrue(second.keepPageCache(), "same ETag: the kernel's pages are still right");
    client.put("f", "new!".getBytes(StandardCharsets.UTF_8));
    FsException stale = assertThrows(FsException.class, () -> fs.read(second.handle(), 0, ByteBuffer.allocate(4)));
    assertEquals(Errno.ESTALE, stale.errno(), "an open handle never reads another version's bytes");
    fs.release(second.handle());
    OpenFile third = fs.open("/f", OpenFlags.READ_ONLY);
    assertFalse(third.keepPageCache(), "changed ETag: the kernel must drop its pages");
    ByteBuffer dst = ByteBuffer.allocate(4);
    fs.read(third.handle(), 0, dst);
    assertEquals("new!", new String(dst.array(), StandardCharsets.UTF_8));
  }

  /**
   * Regression: the kernel's page cache is per inode, shared by every handle of a path. A handle of
   * a new version opened while handles of the old one still read through the page cache got pages
   * of both versions mixed (ChangingObjectTest, concurrent readers of a rewritten object).
   */
  @Test
  void handlesOfTwoVersionsNeverShareTheKernelsPageCache() throws Exception {
    client.put("f", "old!".getBytes(StandardCharsets.UTF_8));
    S3Filesystem fs = fs("", Duration.ZERO);
    OpenFile old1 = fs.open("/f", OpenFlags.READ_ONLY);
    OpenFile old2 = fs.open("/f", OpenFlags.READ_ONLY);
    assertFalse(old1.directIo());
    assertFalse(old2.directIo(), "same version: shares the page cache");
    assertFalse(old2.keepPageCache(), "another open may still be dropping older pages in the kernel");
    client.put("f", "new!".getBytes(StandardCharsets.UTF_8));
    OpenFile new1 = fs.open("/f", OpenFlags.READ_ONLY);
    assertTrue(new1.directIo(), "old-version handles still fill the page cache: bypass it");
    fs.release(old1.handle());
    OpenFile new2 = fs.open("/f", OpenFlags.READ_ONLY);
    assertTrue(new2.directIo(), "one old-version handle is still open");
    fs.release(old2.handle());
    OpenFile new3 = fs.open("/f", OpenFlags.READ_ONLY);
    assertFalse(new3.directIo(), "no old-version handle left");
    assertFalse(new3.keepPageCache(), "the old version's pages must be dropped");
    fs.release(new1.handle());
    fs.release(new2.handle());
    fs.release(new3.handle());
    OpenFile new4 = fs.open("/f", OpenFlags.READ_ONLY);
    assertTrue(new4.keepPageCache(), "the page cache holds only the new version now");
  }

  @Test
  void changedObjectSeenByTheNextOpenWithoutWaitingForTheTtl() throws Exception {
    client.put("f", "old!".getBytes(StandardCharsets.UTF_8));
    S3Filesystem fs = fs("", Duration.ofHours(1));
    OpenFile old = fs.open("/f", OpenFlags.READ_ONLY);
    client.put("f", "newer".getBytes(StandardCharsets.UTF_8));
    assertEquals(Errno.ESTALE, assertThrows(FsException.class, () -> fs.read(old.handle(), 0, ByteBuffer.allocate(4))).errno());
    OpenFile fresh = fs.open("/f", OpenFlags.READ_ONLY);
    ByteBuffer dst = ByteBuffer.allocate(5);
    assertEquals(5, fs.read(fresh.handle(), 0, dst), "the ESTALE dropped the cached stat");
    assertEquals("newer", new String(dst.array(), StandardCharsets.UTF_8));
  }

  @Test
  void namesLongerThan255BytesAreNotListed() throws Exception {
    client.put("d/" + "é".repeat(128), new byte[1]); // 256 bytes in UTF-8, 128 chars
    client.put("d/" + "é".repeat(127), new byte[1]); // 254 bytes
    S3Filesystem fs = fs("", Duration.ofSeconds(60));
    assertEquals(List.of("é".repeat(127)), names(fs.readdir("/d")));
    assertEquals(Errno.ENAMETOOLONG, assertThrows(FsException.class, () -> fs.getattr("/d/" + "é".repeat(128))).errno());
  }

  @Test
  void rootUrlHasOneSlash() throws Exception {
    client.put("p/x", new byte[1]);
    assertEquals("s3://bkt/p/", new String(fs("p", Duration.ofSeconds(60)).getxattr("/", S3Filesystem.XATTR_URL),
        StandardCharsets.UTF_8));
    assertEquals("s3://bkt/", new String(fs("", Duration.ofSeconds(60)).getxattr("/", S3Filesystem.XATTR_URL),
        StandardCharsets.UTF_8));
  }

  @Test
  void xattrsExposeEtagAndUrl() throws Exception {
    String etag = client.put("p/d/f", new byte[1]);
    S3Filesystem fs = fs("p", Duration.ofSeconds(60));
    assertEquals(etag, new String(fs.getxattr("/d/f", S3Filesystem.XATTR_ETAG), StandardCharsets.UTF_8));
    assertEquals("s3://bkt/p/d/f", new String(fs.getxattr("/d/f", S3Filesystem.XATTR_URL), StandardCharsets.UTF_8));
    assertEquals(Errno.ENODATA, assertThrows(FsException.class, () -> fs.getxattr("/d", S3Filesystem.XATTR_ETAG)).errno());
    assertEquals(Errno.ENODATA, assertThrows(FsException.class, () -> fs.getxattr("/d/f", "user.other")).errno());
    assertEquals(List.of(S3Filesystem.XATTR_ETAG, S3Filesystem.XATTR_URL), fs.listxattr("/d/f"));
  }

  @Test
  void paginatedListingShowsEveryEntryOnce() throws Exception {
    for (int i = 0; i < 2500; i++) {
      client.put(String.format("many/f%05d", i), new byte[1]);
    }
    for (int i = 0; i < 30; i++) {
      client.put(String.format("many/d%02d/x", i), new byte[1]);
    }
    List<String> names = names(fs("", Duration.ofSeconds(60)).readdir("/many"));
    assertEquals(2530, names.size());
    assertEquals(2530, new java.util.HashSet<>(names).size());
    assertTrue(client.lists.get() >= 3, "2,530 entries take three pages of 1,000");
  }
}
