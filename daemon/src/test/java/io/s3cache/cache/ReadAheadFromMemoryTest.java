package io.s3cache.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.metrics.MetricNames;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14: on a cold sequential read larger than the RAM tier, the blocks read-ahead fetched
 * ahead of the reader were pushed out of RAM by newer ones before the reader came, and the reader
 * read half of the object back from the disk tier. They are now held until read ({@link
 * RecentBlocks}). Warm blocks found only on disk are read ahead into memory the same way.
 */
@Timeout(60)
class ReadAheadFromMemoryTest {
  private static final int BLOCK = 64 << 10;
  private static final int PIECE = 16 << 10;

  @TempDir Path dir;
  private final FakeBlockSource source = new FakeBlockSource();
  private final MetricRegistry registry = new MetricRegistry();
  private TieredBlockCache cache;

  @AfterEach
  void tearDown() {
    cache.close();
  }

  @Test
  void blocksFetchedAheadReachTheirReaderFromMemoryNotFromDisk() throws IOException {
    cache = open(2, registry);
    readSequentially(24, 6);
    assertEquals(24, source.fetches.get(), "each block fetched once");
    assertEquals(0, registry.counter(MetricNames.CACHE_DISK_HITS).getCount(),
        "no piece was read back from the disk tier");
    assertTrue(registry.counter(MetricNames.CACHE_RECENT_HITS).getCount() > 0);
    assertEquals(24, cache.stats().diskBlocks(), "every block still went to disk");
  }

  /**
   * Warm from the disk tier (after a restart nothing is in memory): read-ahead reads each block
   * whole from its file ahead of the reader and holds it, so the reader's pieces come from memory
   * and the RAM tier is not churned by a scan larger than it.
   */
  @Test
  void blocksOnlyOnDiskAreReadAheadIntoMemory() throws IOException {
    cache = open(2, new MetricRegistry());
    for (int i = 0; i < 24; i++) {
      cache.load(key(i), BLOCK);
    }
    cache.close();
    cache = open(2, registry); // a restart: every block is on disk only
    readSequentially(24, 6);
    assertEquals(24, source.fetches.get(), "nothing fetched again after the restart");
    assertEquals(24, registry.counter(MetricNames.CACHE_DISK_READ_AHEAD).getCount());
    assertEquals(24L * (BLOCK / PIECE), registry.counter(MetricNames.CACHE_RECENT_HITS).getCount(),
        "every piece came from memory");
    assertEquals(24, registry.counter(MetricNames.CACHE_DISK_HITS).getCount(),
        "the disk tier was looked at by read-ahead only, once a block");
    assertEquals(0, registry.counter(MetricNames.CACHE_RAM_HITS).getCount(),
        "nothing read from disk was admitted to RAM");
    assertEquals(0, cache.stats().ramBlocks(), "nor is anything in RAM now");
  }

  /** A block in memory already is not read from disk again; one read-ahead found corrupt is refetched. */
  @Test
  void readAheadFromDiskSkipsBlocksInMemoryAndNeverHoldsACorruptOne() throws IOException {
    cache = open(4, new MetricRegistry());
    for (int i = 0; i < 2; i++) {
      cache.load(key(i), BLOCK);
    }
    cache.load(key(2), 1000); // a short last block
    cache.close();
    cache = open(4, registry);
    assertFalse(cache.isInMemory(key(0)), "a whole block on disk is loaded");
    assertFalse(cache.isInMemory(key(2)), "nor is a short one: its load hints it");
    cache.load(key(2), 1000);
    assertFalse(cache.isInMemory(key(2)), "and is not read into a buffer of its own");
    cache.read(key(0), BLOCK, 0, ByteBuffer.allocate(PIECE), () -> {}); // a disk hit, not admitted
    cache.load(key(0), BLOCK);
    assertTrue(cache.isInMemory(key(0)), "read ahead: needs no load now");
    cache.load(key(0), BLOCK);
    assertEquals(1, registry.counter(MetricNames.CACHE_DISK_READ_AHEAD).getCount(),
        "read once: the second load found it in memory");

    corruptPayloadByte(key(1), BLOCK / 2);
    cache.load(key(1), BLOCK);
    assertFalse(cache.isInMemory(key(1)), "a corrupt block is not held");
    assertFalse(cache.isCached(key(1)), "and its file is gone");
    assertEquals(1, registry.counter(MetricNames.CACHE_DISK_CORRUPT).getCount());
    ByteBuffer dst = ByteBuffer.allocate(BLOCK);
    cache.read(key(1), BLOCK, 0, dst, () -> {});
    assertEquals(FakeBlockSource.expected(key(1), BLOCK, BLOCK), dst.flip(), "refetched");
    assertEquals(4, source.fetches.get());
  }

  /**
   * A cache over {@code dir} with RAM for {@code ramBlocks} blocks, the disk tier on (writes run at
   * once) and 12 blocks' worth of fill memory.
   */
  private TieredBlockCache open(int ramBlocks, MetricRegistry metrics) {
    CacheConfig config = new CacheConfig(BLOCK, (long) ramBlocks * BLOCK, dir, 64L << 20, 8, 8L << 20, false)
        .withFillBufferBytes(12L * BLOCK);
    return new TieredBlockCache(config, source, metrics, Runnable::run, null, Runnable::run,
        BlockFileIo.DEFAULT, null);
  }

  /**
   * A sequential reader of blocks 0..n-1 in pieces, with read-ahead's loads {@code window} blocks
   * ahead of it (its first window at once, then one more each time the reader crosses a block).
   */
  private void readSequentially(int n, int window) throws IOException {
    for (int i = 0; i < n; i++) {
      if (i == 0) {
        for (int a = 0; a <= window; a++) {
          cache.load(key(a), BLOCK);
        }
      } else if (i + window < n) {
        cache.load(key(i + window), BLOCK);
      }
      for (int off = 0; off < BLOCK; off += PIECE) {
        ByteBuffer dst = ByteBuffer.allocate(PIECE);
        cache.read(key(i), BLOCK, off, dst, () -> {});
        assertEquals(FakeBlockSource.expected(key(i), BLOCK, BLOCK).position(off).limit(off + PIECE),
            dst.flip());
      }
    }
  }

  private void corruptPayloadByte(BlockKey k, int offsetInPayload) throws IOException {
    try (var files = java.nio.file.Files.walk(dir)) {
      for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".blk"))::iterator) {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
          BlockFileFormat.Header h = BlockFiles.readHeader(ch);
          if (h.key().equals(k)) {
            long at = h.headerLength() + (long) offsetInPayload;
            ByteBuffer one = ByteBuffer.allocate(1);
            ch.read(one, at);
            ch.write(ByteBuffer.wrap(new byte[] {(byte) ~one.get(0)}), at);
            return;
          }
        }
      }
    }
    throw new AssertionError("no file holds " + k);
  }

  private static BlockKey key(long i) {
    return new BlockKey("bucket", "big.bin", "\"e\"", i);
  }
}
