package io.s3cache.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.metrics.MetricNames;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14: on a cold sequential read larger than the RAM tier, the blocks read-ahead fetched
 * ahead of the reader were pushed out of RAM by newer ones before the reader came, and the reader
 * read half of the object back from the disk tier. They are now held until read ({@link
 * RecentBlocks}).
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
    // RAM for 2 blocks, disk tier on (writes run at once), 12 blocks' worth of fill memory.
    CacheConfig config = new CacheConfig(BLOCK, 2L * BLOCK, dir, 64L << 20, 8, 8L << 20, false)
        .withFillBufferBytes(12L * BLOCK);
    cache = new TieredBlockCache(config, source, registry, Runnable::run, null, Runnable::run,
        BlockFileIo.DEFAULT, null);
    int window = 6;
    for (int i = 0; i < 24; i++) {
      if (i == 0) {
        for (int a = 0; a <= window; a++) {
          cache.load(key(a), BLOCK); // read-ahead's first window
        }
      } else if (i + window < 24) {
        cache.load(key(i + window), BLOCK); // the window moves on as the reader crosses a block
      }
      for (int off = 0; off < BLOCK; off += PIECE) { // the reader, in pieces
        ByteBuffer dst = ByteBuffer.allocate(PIECE);
        cache.read(key(i), BLOCK, off, dst, () -> {});
        assertEquals(FakeBlockSource.expected(key(i), BLOCK, BLOCK).position(off).limit(off + PIECE),
            dst.flip());
      }
    }
    assertEquals(24, source.fetches.get(), "each block fetched once");
    assertEquals(0, registry.counter(MetricNames.CACHE_DISK_HITS).getCount(),
        "no piece was read back from the disk tier");
    assertTrue(registry.counter(MetricNames.CACHE_RECENT_HITS).getCount() > 0);
    assertEquals(24, cache.stats().diskBlocks(), "every block still went to disk");
  }

  private static BlockKey key(long i) {
    return new BlockKey("bucket", "big.bin", "\"e\"", i);
  }
}
