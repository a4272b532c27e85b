package io.s3cache.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.testing.ManualExecutor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14: after a cold scan of an object larger than the RAM tier, a warm sequential re-read of
 * data that fits under the disk cap fetched blocks again. A fetch whose background disk write was
 * refused (more than {@code maxPendingDiskWriteBytes} already queued behind a slow disk) left the
 * block in RAM only; once RAM evicted it, it was gone from every tier.
 */
@Timeout(60)
class WarmReReadFetchesNothingTest {
  private static final int BLOCK = 64 << 10;

  @TempDir Path dir;
  private final FakeBlockSource source = new FakeBlockSource();
  private final ManualExecutor slowDisk = new ManualExecutor(); // writes run only when told
  private TieredBlockCache cache;

  @AfterEach
  void tearDown() {
    cache.close();
  }

  @Test
  void blocksWhoseQueuedWriteWasRefusedAreStillKeptOnDisk() throws IOException {
    // RAM holds one block; one block's write may wait in the queue.
    CacheConfig config = new CacheConfig(BLOCK, BLOCK, dir, 8 << 20, 4, BLOCK, false);
    cache = new TieredBlockCache(config, source, new MetricRegistry(), slowDisk, null,
        Runnable::run, BlockFileIo.DEFAULT, null);
    int blocks = 6;
    for (int i = 0; i < blocks; i++) { // cold scan while the disk writer lags
      read(i);
    }
    slowDisk.runAll();
    assertEquals(blocks, source.fetches.get());
    assertEquals(blocks, cache.stats().diskBlocks(), "every fetched block is on disk");

    for (int i = 0; i < blocks; i++) { // warm re-read
      read(i);
    }
    assertEquals(blocks, source.fetches.get(), "the warm re-read made no GET");
  }

  private void read(int i) throws IOException {
    BlockKey k = new BlockKey("bucket", "big.bin", "\"e\"", i);
    ByteBuffer dst = ByteBuffer.allocateDirect(BLOCK);
    cache.read(k, BLOCK, 0, dst, () -> {});
    assertEquals(FakeBlockSource.expected(k, BLOCK, BLOCK), dst.flip());
  }
}
