package io.s3cache.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.metrics.MetricNames;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The block cache over a small pool of reused block buffers. */
@Timeout(120)
class TieredBlockCachePoolTest {
  private static final int BLOCK = 64 << 10;

  @TempDir Path dir;
  private final FakeBlockSource source = new FakeBlockSource();
  private final MetricRegistry registry = new MetricRegistry();
  private TieredBlockCache cache;
  private ExecutorService readers;

  @AfterEach
  void tearDown() {
    if (readers != null) {
      readers.shutdownNow();
    }
    if (cache != null) {
      cache.close();
    }
  }

  /** RAM for {@code ramBlocks} blocks, one fill buffer beyond them, disk tier off. */
  private TieredBlockCache cache(int ramBlocks, int fetches) {
    CacheConfig config = new CacheConfig(BLOCK, (long) ramBlocks * BLOCK, dir, 0, fetches, 1 << 20,
        false).withFillBufferBytes(BLOCK);
    cache = new TieredBlockCache(config, source, registry, Runnable::run, null, Runnable::run,
        BlockFileIo.DEFAULT, null);
    return cache;
  }

  private static BlockKey key(long i) {
    return new BlockKey("bucket", "big.bin", "\"e\"", i);
  }

  private long fallbacks() {
    return registry.counter(MetricNames.CACHE_BUFFER_FALLBACKS).getCount();
  }

  /**
   * Many readers of more blocks than there are buffers, four fills at once, one spare buffer: every
   * fill waits for a buffer some other block gives back (an eviction, a reader's copy ending), and
   * every reader gets its bytes. A wait that never ended would show as a fallback buffer.
   */
  @Test
  void moreReadersThanBuffersAllGetTheirBytesWithoutDeadlock() throws Exception {
    cache(2, 4);
    readers = Executors.newFixedThreadPool(8);
    List<Future<?>> done = new ArrayList<>();
    for (int r = 0; r < 8; r++) {
      int first = r;
      done.add(readers.submit(() -> {
        for (int i = 0; i < 24; i++) {
          BlockKey k = key((first + i) % 12);
          ByteBuffer range = ByteBuffer.allocate(4096);
          cache.read(k, BLOCK, 1000, range, () -> {});
          assertEquals(FakeBlockSource.expected(k, BLOCK, BLOCK).position(1000).limit(5096),
              range.flip());
        }
        return null;
      }));
    }
    for (Future<?> f : done) {
      f.get();
    }
    assertEquals(0, fallbacks(), "no fill gave up waiting for a buffer");
    assertTrue(cache.bufferPool().allocatedBytes() <= 3L * BLOCK,
        "at most the RAM tier's blocks plus one: " + cache.bufferPool().allocatedBytes());
  }

  /** A fill that fails gives its buffer back: the next fill (with one buffer in all) gets it. */
  @Test
  void aFailedFillReturnsItsBuffer() throws IOException {
    cache(0, 4);
    source.failure = new IOException("injected");
    assertThrows(IOException.class, () -> cache.get(key(0), BLOCK));
    source.failure = null;
    source.shortBy = 10;
    assertThrows(IOException.class, () -> cache.get(key(0), BLOCK), "a short body fails too");
    source.shortBy = 0;
    assertEquals(FakeBlockSource.expected(key(0), BLOCK, BLOCK), cache.get(key(0), BLOCK));
    assertEquals(FakeBlockSource.expected(key(1), BLOCK, BLOCK), cache.get(key(1), BLOCK));
    assertEquals(0, fallbacks(), "each fill found the one buffer back in the pool");
    assertEquals(BLOCK, cache.bufferPool().allocatedBytes());
  }

  /** Blocks handed out by get are copies: they stay intact while their buffers serve other blocks. */
  @Test
  void aBlockFromGetStaysIntactWhileItsBufferIsReused() throws IOException {
    cache(1, 1);
    ByteBuffer first = cache.get(key(0), BLOCK);
    for (int i = 1; i < 5; i++) {
      cache.get(key(i), BLOCK); // evicts block 0 and reuses its buffer
    }
    assertEquals(FakeBlockSource.expected(key(0), BLOCK, BLOCK), first);
    assertEquals(0, fallbacks());
  }
}
