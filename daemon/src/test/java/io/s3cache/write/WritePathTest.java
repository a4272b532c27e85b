package io.s3cache.write;

import static io.s3cache.fuse.OpenFlags.O_APPEND;
import static io.s3cache.fuse.OpenFlags.O_RDONLY;
import static io.s3cache.fuse.OpenFlags.O_TRUNC;
import static io.s3cache.fuse.OpenFlags.O_WRONLY;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.cache.CacheConfig;
import io.s3cache.cache.TieredBlockCache;
import io.s3cache.fs.FsConfig;
import io.s3cache.fs.S3Filesystem;
import io.s3cache.fuse.Errno;
import io.s3cache.fuse.FsException;
import io.s3cache.fuse.OpenFlags;
import io.s3cache.metrics.MetricNames;
import io.s3cache.testing.InMemoryObjectClient;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The write path over an in-memory bucket: staging, uploads, rename, failures and recovery. */
class WritePathTest {
  private static final int BLOCK = 64 * 1024;

  @TempDir Path dir;
  private final InMemoryObjectClient client = new InMemoryObjectClient("bkt");
  private final MetricRegistry metrics = new MetricRegistry();
  private final ExecutorService parts = Executors.newFixedThreadPool(4);
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  /** Parts go up on a pool unless a test runs them on the caller (to see when they go). */
  private java.util.concurrent.Executor partsExec = parts;
  /** Cache fills run at once on the caller unless a test queues them. */
  private java.util.concurrent.Executor fills = Runnable::run;
  private TieredBlockCache cache;

  @AfterEach
  void stop() {
    parts.shutdownNow();
    timer.shutdownNow();
    if (cache != null) {
      cache.close();
    }
  }

  private S3Filesystem fs(WriteConfig config) throws Exception {
    if (cache == null) {
      cache = TieredBlockCache.create(new CacheConfig(BLOCK, 64 << 20, null, 0, 4, 0, false),
          (key, offset, dst) -> client.getRange(key.key(), key.etag(), offset, dst), new MetricRegistry());
    }
    return S3Filesystem.builder(new FsConfig("bkt", "", Duration.ofSeconds(60), 0, 0, 0644, 0755), client,
        cache, metrics)
        .writable(config, new StagingArea(dir.resolve("staging"), n -> {}),
            new ObjectUploader(client, config, partsExec), timer, fills)
        .build();
  }

  private static byte[] bytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** Writes {@code data} in 128 KiB calls, as the kernel does. */
  private static void write(S3Filesystem fs, long h, long at, byte[] data) throws FsException {
    for (int off = 0; off < data.length; off += 128 * 1024) {
      int n = Math.min(128 * 1024, data.length - off);
      assertEquals(n, fs.write(h, at + off, ByteBuffer.wrap(data, off, n)));
    }
  }

  private static byte[] readAll(S3Filesystem fs, String path) throws FsException {
    long h = fs.open(path, OpenFlags.READ_ONLY).handle();
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteBuffer buf = ByteBuffer.allocate(100_000);
      for (long pos = 0; ; ) {
        buf.clear();
        int n = fs.read(h, pos, buf);
        if (n == 0) {
          return out.toByteArray();
        }
        out.write(buf.array(), 0, n);
        pos += n;
      }
    } finally {
      fs.release(h);
    }
  }

  private long stagedFiles() throws Exception {
    try (Stream<Path> s = Files.list(dir.resolve("staging"))) {
      return s.filter(p -> p.toString().endsWith(".data")).count();
    }
  }

  @Test
  void newFileIsUploadedOnCloseAndReadFromTheCacheWithoutAGet() throws Exception {
    S3Filesystem fs = fs(WriteConfig.defaults());
    byte[] data = bytes(300_000, 1);
    long h = fs.create("/a.bin", new OpenFlags(O_WRONLY), 0644).handle();
    write(fs, h, 0, data);
    assertNull(client.bytes("a.bin"), "nothing is uploaded before close");
    fs.flush(h);
    assertArrayEquals(data, client.bytes("a.bin"));
    fs.release(h);
    assertEquals(0, stagedFiles(), "the staged file is deleted once uploaded and closed");
    assertEquals(data.length, fs.getattr("/a.bin").size());
    assertArrayEquals(data, readAll(fs, "/a.bin"));
    assertEquals(0, client.gets.get(), "reads after the write come from the cache");
    assertEquals(List.of("a.bin"), client.uploads);
    assertEquals(data.length, metrics.counter(MetricNames.UPLOAD_BYTES).getCount());
  }

  @Test
  void cacheFillRunsAfterCloseReturnedAndNeverCachesBytesThatChanged() throws Exception {
    io.s3cache.testing.ManualExecutor queued = new io.s3cache.testing.ManualExecutor();
    fills = queued;
    S3Filesystem fs = fs(WriteConfig.defaults());
    byte[] first = bytes(5 * BLOCK + 7, 11);
    long h = fs.create("/g.bin", new OpenFlags(O_WRONLY), 0644).handle();
    write(fs, h, 0, first);
    fs.flush(h); // returns once S3 has it; the fill is only queued
    fs.release(h);
    assertArrayEquals(first, client.bytes("g.bin"));
    String firstEtag = client.head("g.bin").etag();
    assertEquals(1, queued.pending());
    assertEquals(1, stagedFiles(), "kept until the fill has run");
    assertArrayEquals(first, readAll(fs, "/g.bin"));
    assertEquals(0, client.gets.get(), "meanwhile reads come from the staged bytes");

    // Rewritten before that fill ran: the fill must not cache any block under the first version.
    byte[] second = bytes(first.length, 12);
    long again = fs.open("/g.bin", new OpenFlags(O_WRONLY)).handle();
    write(fs, again, 0, second);
    fs.flush(again);
    fs.release(again);
    assertEquals(2, queued.pending());
    queued.runAll();
    for (long i = 0; i * BLOCK < first.length; i++) {
      assertFalse(cache.isCached(new io.s3cache.cache.BlockKey("bkt", "g.bin", firstEtag, i)), "block " + i);
    }
    String secondEtag = client.head("g.bin").etag();
    assertTrue(cache.isCached(new io.s3cache.cache.BlockKey("bkt", "g.bin", secondEtag, 5)));
    assertEquals(0, stagedFiles(), "dropped once the fills ended");
    assertArrayEquals(second, readAll(fs, "/g.bin"));
    assertEquals(0, client.gets.get(), "and then reads come from the cache");
  }

  @Test
  void aSequentialWriterOfALargeFileSendsPartsBeforeItCloses() throws Exception {
    partsExec = Runnable::run; // a part goes up inside the write that completes it
    S3Filesystem fs = fs(WriteConfig.defaults().withMultipart(5 << 20, 5 << 20));
    byte[] data = bytes((23 << 20) + 5, 21);
    long h = fs.create("/ckpt.pt", new OpenFlags(O_WRONLY), 0644).handle();
    write(fs, h, 0, data);
    assertEquals(4, client.parts.get(), "the four parts wholly written went up before close");
    assertNull(client.bytes("ckpt.pt"), "but nothing is complete before close");
    fs.flush(h);
    fs.release(h);
    assertArrayEquals(data, client.bytes("ckpt.pt"));
    assertEquals(5, client.parts.get(), "close sent only the last part");
    assertEquals(4, metrics.counter(MetricNames.UPLOAD_PARTS_WHILE_WRITING).getCount());
    assertEquals(0, client.openMultiparts());
  }

  @Test
  void writesOutOfOrderRenamesAndSmallOrTempFilesUploadTheWholeFileAtClose() throws Exception {
    partsExec = Runnable::run;
    S3Filesystem fs = fs(WriteConfig.defaults().withMultipart(5 << 20, 5 << 20));
    // A rewrite below the end: the parts sent are aborted, the close uploads the final bytes.
    byte[] data = bytes(16 << 20, 22);
    long h = fs.create("/rewritten.pt", new OpenFlags(O_WRONLY), 0644).handle();
    write(fs, h, 0, java.util.Arrays.copyOf(data, 12 << 20));
    assertEquals(2, client.parts.get());
    byte[] patch = bytes(1000, 23);
    write(fs, h, 1 << 20, patch);
    System.arraycopy(patch, 0, data, 1 << 20, patch.length);
    write(fs, h, 12 << 20, java.util.Arrays.copyOfRange(data, 12 << 20, data.length));
    assertEquals(0, client.openMultiparts(), "aborted when the rewrite came");
    fs.flush(h);
    fs.release(h);
    assertArrayEquals(data, client.bytes("rewritten.pt"));
    assertEquals(2 + 4, client.parts.get(), "the whole file again, in four parts");

    // Renamed while open: the parts went to the old key; the close uploads under the new one.
    client.parts.set(0);
    byte[] moved = bytes(11 << 20, 24);
    long m = fs.create("/a.pt", new OpenFlags(O_WRONLY), 0644).handle();
    write(fs, m, 0, moved);
    assertEquals(2, client.parts.get());
    fs.rename("/a.pt", "/b.pt");
    fs.flush(m);
    fs.release(m);
    assertArrayEquals(moved, client.bytes("b.pt"));
    assertNull(client.bytes("a.pt"));

    // Temp-named (uploaded at rename, to a key not known while writing) and small files send nothing early.
    client.parts.set(0);
    long t = fs.create("/c.pt.tmp", new OpenFlags(O_WRONLY), 0644).handle();
    write(fs, t, 0, moved);
    long small = fs.create("/small.bin", new OpenFlags(O_WRONLY), 0644).handle();
    write(fs, small, 0, bytes(4 << 20, 25));
    assertEquals(0, client.parts.get());
    fs.flush(small);
    fs.release(small);
    fs.release(t);
    assertEquals(0, client.parts.get(), "one PUT for the small file");
    assertEquals(0, client.openMultiparts());
    assertEquals(0, metrics.counter(MetricNames.UPLOAD_PARTS_WHILE_WRITING).getCount());
  }

  @Test
  void largeFileGoesUpInParallelPartsExactlyAsWritten() throws Exception {
    S3Filesystem fs = fs(WriteConfig.defaults().withMultipart(5 << 20, 5 << 20));
    byte[] data = bytes((12 << 20) + 123, 2);
    long h = fs.create("/big", new OpenFlags(O_WRONLY), 0644).handle();
    write(fs, h, 0, data);
    fs.fsync(h);
    assertArrayEquals(data, client.bytes("big"));
    assertEquals(3, client.parts.get());
    fs.flush(h); // nothing changed since the fsync: no second upload
    fs.release(h);
    assertEquals(List.of("big"), client.uploads);
    assertEquals(0, client.openMultiparts());
  }

  @Test
  void failedUploadReturnsEioKeepsTheBytesAndTheNextCloseUploadsThem() throws Exception {
    partsExec = Runnable::run; // so the abort of the part sent while writing has happened when flush returns
    S3Filesystem fs = fs(WriteConfig.defaults().withMultipart(5 << 20, 5 << 20));
    byte[] data = bytes((6 << 20) + 5, 3);
    long h = fs.create("/ckpt", new OpenFlags(O_WRONLY), 0644).handle();
    write(fs, h, 0, data);
    assertEquals(1, client.parts.get(), "the first part went up while the file was written");
    client.failWrites.set(100); // its last part fails, and so does the whole upload tried instead
    assertEquals(Errno.EIO, assertThrows(FsException.class, () -> fs.flush(h)).errno());
    client.failWrites.set(0);
    fs.release(h);
    assertNull(client.bytes("ckpt"), "no partial object");
    assertEquals(0, client.openMultiparts(), "the failed multipart upload was aborted");
    assertEquals(1, stagedFiles(), "the bytes stay staged");
    assertEquals(data.length, fs.getattr("/ckpt").size(), "and visible in the mount");
    assertArrayEquals(data, readAll(fs, "/ckpt"));
    assertEquals(1, metrics.counter(MetricNames.UPLOAD_FAILURES).getCount());
    client.failWrites.set(1);
    long reader = fs.open("/ckpt", new OpenFlags(O_RDONLY)).handle();
    fs.flush(reader); // a reader's close does not retry the upload, so it cannot fail over it
    fs.release(reader);
    assertEquals(1, client.failWrites.get(), "no upload was tried");
    client.failWrites.set(0);

    long again = fs.open("/ckpt", new OpenFlags(O_WRONLY)).handle();
    fs.flush(again); // the retry
    fs.release(again);
    assertArrayEquals(data, client.bytes("ckpt"));
    assertEquals(0, stagedFiles());
  }

  @Test
  void tempFileRenamedAfterCloseIsOneUploadToTheFinalKey() throws Exception {
    S3Filesystem fs = fs(WriteConfig.defaults());
    client.put("model.pt", bytes(10, 9)); // the previous checkpoint, replaced by the rename
    byte[] data = bytes(200_000, 4);
    long h = fs.create("/model.pt.tmp", new OpenFlags(O_WRONLY), 0644).handle();
    write(fs, h, 0, data);
    fs.flush(h);
    fs.release(h);
    assertTrue(client.uploads.isEmpty(), "closing a temp file does not upload it");
    fs.rename("/model.pt.tmp", "/model.pt");
    assertEquals(List.of("model.pt"), client.uploads);
    assertArrayEquals(data, client.bytes("model.pt"));
    assertFalse(client.keys().contains("model.pt.tmp"));
    assertEquals(Errno.ENOENT, assertThrows(FsException.class, () -> fs.getattr("/model.pt.tmp")).errno());
    assertArrayEquals(data, readAll(fs, "/model.pt"));
    assertEquals(0, client.gets.get());
    assertEquals(0, stagedFiles());
  }

  @Test
  void renameOntoAFileStillBeingWrittenReplacesItAndItsWriterUploadsNothing() throws Exception {
    S3Filesystem fs = fs(WriteConfig.defaults());
    long target = fs.create("/target.pt", new OpenFlags(O_WRONLY), 0644).handle();
    write(fs, target, 0, bytes(50_000, 31));
    byte[] data = bytes(60_000, 32);
    long tmp = fs.create("/target.pt.tmp", new OpenFlags(O_WRONLY), 0644).handle();
    write(fs, tmp, 0, data);
    fs.release(tmp);
    fs.rename("/target.pt.tmp", "/target.pt"); // replaces the staged target, whose writer holds it open
    write(fs, target, 50_000, bytes(1000, 33));
    fs.flush(target);
    fs.release(target);
    assertArrayEquals(data, client.bytes("target.pt"), "the renamed file wins; the replaced one is not uploaded");
    assertEquals(List.of("target.pt"), client.uploads);
    assertEquals(0, stagedFiles());
  }

  @Test
  void concurrentRenamesOntoAndClosesOfOneNameNeitherDeadlockNorLoseTheLastFile() throws Exception {
    S3Filesystem fs = fs(WriteConfig.defaults());
    java.util.concurrent.ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      assertTimeoutPreemptively(java.time.Duration.ofSeconds(60), () -> {
        List<java.util.concurrent.Future<?>> jobs = new java.util.ArrayList<>();
        for (int t = 0; t < 3; t++) {
          int thread = t;
          jobs.add(pool.submit(() -> {
            for (int i = 0; i < 150; i++) {
              String tmp = "/shared.pt." + thread + ".tmp";
              long h = fs.create(thread == 0 ? "/shared.pt" : tmp, new OpenFlags(O_WRONLY | O_TRUNC), 0644).handle();
              write(fs, h, 0, bytes(2000 + i, thread * 1000 + i));
              fs.flush(h);
              fs.release(h);
              if (thread != 0) {
                fs.rename(tmp, "/shared.pt");
              }
            }
            return null;
          }));
        }
        for (var j : jobs) {
          j.get();
        }
      });
    } finally {
      pool.shutdownNow();
    }
    // Whatever finished last, the mount and S3 agree on it, and nothing is left staged.
    assertArrayEquals(client.bytes("shared.pt"), readAll(fs, "/shared.pt"));
    assertEquals(0, stagedFiles());
  }

  @Test
  void renameOfAnObjectCopiesAndDeletesAndDirectoriesAreRefused() throws Exception {
    S3Filesystem fs = fs(WriteConfig.defaults());
    byte[] data = bytes(1000, 5);
    client.put("d/x", data);
    client.put("e/z", data); // before the first lookup: the root's listing is cached from then on
    fs.rename("/d/x", "/y");
    assertArrayEquals(data, client.bytes("y"));
    assertNull(client.bytes("d/x"));
    assertEquals(Errno.EXDEV, assertThrows(FsException.class, () -> fs.rename("/e", "/f")).errno());
  }

  @Test
  void appendStagesACopyAndTruncOverwrites() throws Exception {
    S3Filesystem fs = fs(WriteConfig.defaults());
    byte[] old = bytes(100_000, 6);
    byte[] more = bytes(50_000, 7);
    client.put("log", old);
    long h = fs.open("/log", new OpenFlags(O_WRONLY | O_APPEND)).handle();
    write(fs, h, old.length, more);
    fs.flush(h);
    fs.release(h);
    ByteArrayOutputStream both = new ByteArrayOutputStream();
    both.writeBytes(old);
    both.writeBytes(more);
    assertArrayEquals(both.toByteArray(), client.bytes("log"));

    long t = fs.open("/log", new OpenFlags(O_WRONLY | O_TRUNC)).handle();
    write(fs, t, 0, more);
    fs.flush(t);
    fs.release(t);
    assertArrayEquals(more, client.bytes("log"));

    fs.truncate("/log", 0);
    assertEquals(0, client.bytes("log").length);
  }

  @Test
  void writesIntoObjectsAboveTheCopyLimitAreRefusedWithEfbig() throws Exception {
    S3Filesystem fs = fs(WriteConfig.defaults().withCopyMax(1000));
    client.put("big", bytes(5000, 8));
    long h = fs.open("/big", new OpenFlags(O_WRONLY)).handle();
    assertEquals(Errno.EFBIG, assertThrows(FsException.class,
        () -> fs.write(h, 5000, ByteBuffer.wrap(new byte[10]))).errno());
    fs.flush(h);
    fs.release(h);
    assertEquals(5000, client.bytes("big").length, "the object is untouched");
  }

  @Test
  void mkdirRmdirAndUnlink() throws Exception {
    S3Filesystem fs = fs(WriteConfig.defaults());
    fs.mkdir("/d", 0755);
    assertTrue(client.keys().contains("d/"));
    assertTrue(fs.getattr("/d").isDirectory());
    assertEquals(Errno.EEXIST, assertThrows(FsException.class, () -> fs.mkdir("/d", 0755)).errno());
    long h = fs.create("/d/f", new OpenFlags(O_WRONLY), 0644).handle();
    fs.flush(h);
    fs.release(h);
    assertEquals(0, client.bytes("d/f").length, "an empty new file is an empty object");
    assertEquals(Errno.ENOTEMPTY, assertThrows(FsException.class, () -> fs.rmdir("/d")).errno());
    fs.unlink("/d/f");
    assertNull(client.bytes("d/f"));
    fs.rmdir("/d");
    assertFalse(client.keys().contains("d/"));
    assertEquals(Errno.ENOENT, assertThrows(FsException.class, () -> fs.getattr("/d")).errno());
  }

  @Test
  void aRestartUploadsClosedStagedFilesAndSetsAsideOpenOnes() throws Exception {
    S3Filesystem first = fs(WriteConfig.defaults());
    byte[] closed = bytes(70_000, 10);
    long h = first.create("/closed", new OpenFlags(O_WRONLY), 0644).handle();
    write(first, h, 0, closed);
    client.failWrites.set(1);
    assertThrows(FsException.class, () -> first.flush(h)); // closed by its writer, not in S3
    long open = first.create("/open", new OpenFlags(O_WRONLY), 0644).handle();
    write(first, open, 0, bytes(1000, 11)); // still being written when the process dies
    // The process dies here: no release, no unmount. A new process mounts the same bucket.
    S3Filesystem second = fs(WriteConfig.defaults());
    assertArrayEquals(closed, client.bytes("closed"));
    assertNull(client.bytes("open"), "a file its writer never closed may be incomplete: not uploaded");
    assertEquals(1, metrics.counter(MetricNames.UPLOAD_RECOVERED).getCount());
    try (Stream<Path> s = Files.list(dir.resolve("staging").resolve("incomplete"))) {
      assertEquals(2, s.count(), "the open file's data and journal are set aside");
    }
    assertArrayEquals(closed, readAll(second, "/closed"));
  }

  @Test
  void aRestartAbortsTheMultipartUploadOfAFileThatWasStillBeingWritten() throws Exception {
    partsExec = Runnable::run;
    WriteConfig config = WriteConfig.defaults().withMultipart(5 << 20, 5 << 20);
    S3Filesystem first = fs(config);
    long h = first.create("/big.pt", new OpenFlags(O_WRONLY), 0644).handle();
    write(first, h, 0, bytes(12 << 20, 40));
    assertEquals(1, client.openMultiparts(), "parts went up while it was written");
    // The process dies here: no close. A new process mounts the same bucket.
    fs(config);
    assertEquals(0, client.openMultiparts(), "the restart aborted the upload the crash left");
    assertNull(client.bytes("big.pt"), "and uploaded nothing of a file its writer never closed");
  }

  @Test
  void unlinkAfterAnOpenFileWasRenamedOntoAnObjectDeletesThatObject() throws Exception {
    S3Filesystem fs = fs(WriteConfig.defaults());
    client.put("old.pt", bytes(10, 50));
    long h = fs.create("/new.pt", new OpenFlags(O_WRONLY), 0644).handle();
    write(fs, h, 0, bytes(1000, 51));
    fs.rename("/new.pt", "/old.pt"); // still open: re-keyed, uploads at its close
    fs.unlink("/old.pt");
    fs.flush(h);
    fs.release(h);
    assertNull(client.bytes("old.pt"), "the object the rename replaced does not come back");
    assertNull(client.bytes("new.pt"));
  }

  @Test
  void aRenameWhoseUploadFailsLeavesTheFileUnderItsOldNameAlsoAfterARestart() throws Exception {
    S3Filesystem fs = fs(WriteConfig.defaults());
    byte[] data = bytes(5000, 60);
    long h = fs.create("/a.pt.tmp", new OpenFlags(O_WRONLY), 0644).handle();
    write(fs, h, 0, data);
    fs.flush(h);
    fs.release(h);
    client.failWrites.set(100);
    assertEquals(Errno.EIO, assertThrows(FsException.class, () -> fs.rename("/a.pt.tmp", "/a.pt")).errno());
    client.failWrites.set(0);
    assertArrayEquals(data, readAll(fs, "/a.pt.tmp"), "still there under its old name");
    fs(WriteConfig.defaults()); // the process dies; a restart uploads what it finds staged
    assertArrayEquals(data, client.bytes("a.pt.tmp"));
    assertNull(client.bytes("a.pt"), "not under the name of a rename that failed");
  }

  @Test
  void chmodAndUtimensAreAcceptedOthersNot() throws Exception {
    S3Filesystem fs = fs(WriteConfig.defaults());
    client.put("f", new byte[1]);
    fs.changeMetadata("chmod", "/f");
    fs.changeMetadata("utimens", "/f");
    assertEquals(Errno.ENOENT, assertThrows(FsException.class, () -> fs.changeMetadata("chmod", "/nope")).errno());
    assertEquals(Errno.ENOTSUP, assertThrows(FsException.class, () -> fs.changeMetadata("symlink", "/s")).errno());
  }
}
