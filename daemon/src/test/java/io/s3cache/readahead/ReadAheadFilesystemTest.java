package io.s3cache.readahead;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.cache.BlockKey;
import io.s3cache.cache.CacheConfig;
import io.s3cache.cache.TieredBlockCache;
import io.s3cache.fs.FsConfig;
import io.s3cache.fs.ReadObserver;
import io.s3cache.fs.S3Filesystem;
import io.s3cache.fuse.OpenFlags;
import io.s3cache.metrics.MetricNames;
import io.s3cache.testing.InMemoryObjectClient;
import io.s3cache.testing.ManualExecutor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Read-ahead through the filesystem: a fake bucket, a real RAM-only block cache, a manual pool. */
class ReadAheadFilesystemTest {

  private static final int BLOCK = 64 << 10;
  private static final int REQUEST = 16 << 10;
  private static final int BLOCKS = 128; // 8 MiB: random offsets can be further apart than the tolerance

  private final InMemoryObjectClient client = new InMemoryObjectClient("bkt");
  private final MetricRegistry metrics = new MetricRegistry();
  private final ManualExecutor executor = new ManualExecutor();
  private final Set<Long> failOnce = ConcurrentHashMap.newKeySet();
  private final TieredBlockCache cache = new TieredBlockCache(
      new CacheConfig(BLOCK, 64L << 20, null, 0, 8, 0, false),
      this::fetch, metrics, Runnable::run);
  private final List<String> opened = new CopyOnWriteArrayList<>();
  private final AtomicInteger readerFetches = new AtomicInteger();
  private final ReadObserver observer = new ReadObserver() {
    @Override
    public void onOpen(String path) {
      opened.add(path);
    }

    @Override
    public void onReaderFetches(String path, int blocks) {
      readerFetches.addAndGet(blocks);
    }
  };
  private final Prefetcher prefetcher =
      new Prefetcher(new ReadAheadConfig(8L * BLOCK, 64L * BLOCK), cache, executor, metrics);
  private final S3Filesystem fs = S3Filesystem.builder(
      new FsConfig("bkt", "", Duration.ofSeconds(60), 1000, 1000, 0444, 0555), client, cache, metrics)
      .prefetcher(prefetcher)
      .readObserver(observer)
      .build();
  private final byte[] content = new byte[BLOCKS * BLOCK];

  ReadAheadFilesystemTest() {
    new Random(7).nextBytes(content);
    client.put("big", content);
  }

  @AfterEach
  void close() {
    prefetcher.close();
    cache.close();
  }

  private void fetch(BlockKey key, long offset, ByteBuffer dst) throws IOException {
    if (failOnce.remove(key.index())) {
      throw new IOException("injected failure of block " + key.index());
    }
    client.getRange(key.key(), key.etag(), offset, dst);
  }

  private byte[] read(long handle, long offset, int length) throws Exception {
    ByteBuffer dst = ByteBuffer.allocate(length);
    int n = fs.read(handle, offset, dst);
    return Arrays.copyOf(dst.array(), n);
  }

  private void assertReads(long handle, long offset, int length) throws Exception {
    assertArrayEquals(Arrays.copyOfRange(content, (int) offset, (int) offset + length),
        read(handle, offset, length), "bytes at " + offset);
  }

  @Test
  void aSequentialReaderHasBlocksFetchedAheadOfIt() throws Exception {
    long h = fs.open("/big", OpenFlags.READ_ONLY).handle();
    int gets = client.gets.get();

    assertReads(h, 0, REQUEST);
    assertEquals(gets + 1, client.gets.get()); // the reader's own block 0
    assertEquals(1, executor.pending()); // block 1, queued ahead
    executor.runAll();
    assertEquals(gets + 2, client.gets.get());

    for (long pos = REQUEST; pos < 4L * BLOCK; pos += REQUEST) {
      assertReads(h, pos, REQUEST);
      executor.runAll();
    }
    // Reading blocks 0-3 the window grew to 8 blocks: S3 was asked for blocks up to 11 ...
    assertEquals(gets + 12, client.gets.get());
    assertTrue(cache.isCached(new BlockKey("bkt", "big", client.head("big").etag(), 11)));
    // ... and none of those reads waited for S3 itself after the first.
    assertEquals(11L * BLOCK, metrics.counter(MetricNames.PREFETCH_BYTES).getCount());

    for (long pos = 4L * BLOCK; pos < content.length; pos += REQUEST) {
      assertReads(h, pos, REQUEST);
      executor.runAll();
    }
    assertEquals(gets + BLOCKS, client.gets.get()); // every block fetched once, no more
    fs.release(h);
    assertEquals(0, metrics.counter(MetricNames.PREFETCH_UNUSED_BYTES).getCount());
  }

  @Test
  void aRandomReaderCausesNoPrefetch() throws Exception {
    long h = fs.open("/big", OpenFlags.READ_ONLY).handle();
    int gets = client.gets.get();
    long[] blocks = {40, 3, 97, 20, 64, 110, 1, 80};
    for (long b : blocks) {
      assertReads(h, b * BLOCK + 100, REQUEST);
    }
    assertEquals(0, executor.pending());
    assertEquals(gets + blocks.length, client.gets.get());
    assertEquals(0, metrics.counter(MetricNames.PREFETCH_BYTES).getCount());
  }

  @Test
  void aBlockWhosePrefetchFailedIsFetchedByTheReader() throws Exception {
    long h = fs.open("/big", OpenFlags.READ_ONLY).handle();
    failOnce.add(1L);
    assertReads(h, 0, BLOCK);
    executor.runAll(); // the prefetch of block 1 fails
    assertEquals(1, metrics.counter(MetricNames.PREFETCH_FAILURES).getCount());
    assertReads(h, BLOCK, BLOCK); // block 1 from S3 by the reader, correct bytes
    executor.runAll();
    assertEquals(0, prefetcher.inflightBytes()); // the failed prefetch gave its budget back
  }

  @Test
  void releaseCountsBlocksPrefetchedButNeverRead() throws Exception {
    long h = fs.open("/big", OpenFlags.READ_ONLY).handle();
    assertReads(h, 0, REQUEST); // prefetches block 1
    executor.runAll();
    fs.release(h);
    assertEquals(BLOCK, metrics.counter(MetricNames.PREFETCH_UNUSED_BYTES).getCount());
  }

  @Test
  void onlyBlocksTheReaderFetchedItselfAreCountedAndReported() throws Exception {
    long h = fs.open("/big", OpenFlags.READ_ONLY).handle();
    assertEquals(List.of("/big"), opened);

    assertReads(h, 0, REQUEST); // block 0: the reader's own GET
    assertEquals(1, readerFetches.get());
    assertEquals(1, metrics.counter(MetricNames.FUSE_BLOCKS_FETCHED).getCount());

    executor.runAll(); // the prefetch of block 1 runs on this thread, outside any read: not the reader's
    assertEquals(1, readerFetches.get());

    assertReads(h, REQUEST, BLOCK); // the rest of block 0 and most of block 1: both cached
    assertEquals(3, metrics.counter(MetricNames.FUSE_BLOCKS_READ).getCount());
    assertEquals(1, metrics.counter(MetricNames.FUSE_BLOCKS_FETCHED).getCount());
    assertEquals(1, readerFetches.get());
    fs.release(h);
  }
}
