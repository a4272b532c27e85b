package io.s3cache.cache;

import io.s3cache.testing.ManualExecutor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.codahale.metrics.MetricRegistry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Regression: the disk tier named a block by (bucket, key, etag, index) only, so a restart with
 * another block size over the same cache directory served old blocks for new byte ranges (at
 * 64K→512K, a read at offset 512K got old block 1, the bytes at offset 64K, as a disk hit).
 */
@Timeout(60)
class BlockSizeChangeTest {
  private static final int SMALL = 64 << 10;
  private static final int LARGE = 512 << 10;
  /**
   * 576 KiB: block 1 is 64 KiB long under both block sizes (a full small block, the short last
   * large block), so length checks alone cannot tell them apart.
   */
  private static final int OBJECT_SIZE = LARGE + SMALL;

  @TempDir Path dir;
  private final byte[] object = new byte[OBJECT_SIZE];
  private final ObjectSource source = new ObjectSource();
  private final ManualExecutor diskWrites = new ManualExecutor();
  private final List<TieredBlockCache> caches = new ArrayList<>();
  private final ListAppender<ILoggingEvent> scanLog = new ListAppender<>();
  private final Logger scanLogger = (Logger) LoggerFactory.getLogger(DiskTierScan.class);

  @BeforeEach
  void setUp() {
    new Random(42).nextBytes(object);
    scanLog.start();
    scanLogger.addAppender(scanLog);
  }

  @AfterEach
  void tearDown() {
    scanLogger.detachAppender(scanLog);
    caches.forEach(TieredBlockCache::close);
  }

  /** The object's real bytes, whatever the block size: offset is all that matters. */
  private final class ObjectSource implements BlockSource {
    final AtomicInteger fetches = new AtomicInteger();

    @Override
    public void fetch(BlockKey key, long offset, ByteBuffer dst) {
      fetches.incrementAndGet();
      dst.put(object, (int) offset, dst.remaining());
    }
  }

  private static BlockKey key(long index) {
    return new BlockKey("bucket", "datasets/shard-0007.bin", "\"etag-7\"", index);
  }

  private ByteBuffer objectBytes(long offset, int length) {
    return ByteBuffer.wrap(object, (int) offset, length).slice();
  }

  private static int lengthOf(long index, int blockSize) {
    return (int) Math.min(blockSize, OBJECT_SIZE - index * blockSize);
  }

  private TieredBlockCache open(int blockSize) {
    // RAM tier off: every hit below is a disk hit.
    CacheConfig config = new CacheConfig(blockSize, 0, dir, 8L << 20, 4, 8L << 20, false);
    TieredBlockCache cache = new TieredBlockCache(config, source, new MetricRegistry(),
        diskWrites, null, Runnable::run, BlockFileIo.DEFAULT, null);
    caches.add(cache);
    return cache;
  }

  /** Reads the whole object through a cache of {@code blockSize}, then writes it to disk. */
  private void fillDisk(int blockSize) throws IOException {
    TieredBlockCache cache = open(blockSize);
    int blocks = (OBJECT_SIZE + blockSize - 1) / blockSize;
    for (int i = 0; i < blocks; i++) {
      int length = lengthOf(i, blockSize);
      assertEquals(objectBytes((long) i * blockSize, length), cache.get(key(i), length));
    }
    diskWrites.runAll();
    assertEquals(blocks, cache.stats().diskBlocks());
    cache.close();
  }

  private long blockFiles() throws IOException {
    try (Stream<Path> all = Files.walk(dir.resolve("blocks"))) {
      return all.filter(p -> p.toString().endsWith(".blk")).count();
    }
  }

  private boolean scanLogged(String text) {
    return scanLog.list.stream().anyMatch(e -> e.getFormattedMessage().contains(text));
  }

  @Test
  void restartWithAnotherBlockSizeNeverServesOldBlocks() throws IOException {
    fillDisk(SMALL);
    assertEquals(9, blockFiles());

    TieredBlockCache larger = open(LARGE);
    assertEquals(0, blockFiles(), "the start-up scan deleted every block of the old block size");
    assertEquals(0, larger.stats().diskBlocks());
    assertTrue(scanLogged("deleted 9 blocks of another block size"), "scan log: " + scanLog.list);
    int fetchesBefore = source.fetches.get();

    // Block 1 at 512K is [512K, 576K): 64 KiB, the length old block 1 [64K, 128K) has too.
    assertEquals(objectBytes(LARGE, SMALL), larger.get(key(1), SMALL));
    assertEquals(objectBytes(0, LARGE), larger.get(key(0), LARGE));
    CacheStats stats = larger.stats();
    assertEquals(0, stats.diskHits(), "nothing of the old block size was served");
    assertEquals(2, stats.diskMisses());
    assertEquals(fetchesBefore + 2, source.fetches.get(), "both blocks were fetched");
    assertEquals(0, stats.diskErrors(), "a block size change is not a disk error");

    // Blocks of the new size are kept and served across a restart at that size.
    diskWrites.runAll();
    larger.close();
    TieredBlockCache again = open(LARGE);
    assertEquals(2, again.stats().diskBlocks());
    assertEquals(objectBytes(LARGE, SMALL), again.get(key(1), SMALL));
    assertEquals(objectBytes(0, LARGE), again.get(key(0), LARGE));
    assertEquals(2, again.stats().diskHits());
    assertEquals(fetchesBefore + 2, source.fetches.get());
  }

  @Test
  void restartWithASmallerBlockSizeNeverServesOldBlocks() throws IOException {
    fillDisk(LARGE);
    assertEquals(2, blockFiles());

    TieredBlockCache smaller = open(SMALL);
    assertEquals(0, blockFiles());
    assertTrue(scanLogged("deleted 2 blocks of another block size"), "scan log: " + scanLog.list);
    int fetchesBefore = source.fetches.get();
    for (int i = 0; i < 2; i++) {
      assertEquals(objectBytes((long) i * SMALL, SMALL), smaller.get(key(i), SMALL));
    }
    assertEquals(0, smaller.stats().diskHits());
    assertEquals(0, smaller.stats().diskErrors());
    assertEquals(fetchesBefore + 2, source.fetches.get());
  }

  /** A file as format version 1 wrote it: no block size in the header or the name. */
  @Test
  void formatVersion1BlocksAreDeletedAtStartUp() throws Exception {
    BlockKey k = key(0);
    byte[] payload = new byte[SMALL];
    System.arraycopy(object, 0, payload, 0, SMALL);
    Path file = writeVersion1File(k, payload);

    TieredBlockCache cache = open(SMALL);
    assertFalse(Files.exists(file), "the scan deleted the old-format file");
    assertEquals(0, cache.stats().diskBlocks());
    assertEquals(0, cache.stats().diskErrors(), "an old format after an upgrade is not an error");
    assertTrue(scanLogged("deleted 0 blocks of another block size (now 65536), "
        + "1 blocks of another format version"), "scan log: " + scanLog.list);
    assertEquals(objectBytes(0, SMALL), cache.get(k, SMALL));
    assertEquals(1, source.fetches.get());
  }

  private Path writeVersion1File(BlockKey k, byte[] payload) throws Exception {
    byte[][] fields = {
        k.bucket().getBytes(StandardCharsets.UTF_8),
        k.key().getBytes(StandardCharsets.UTF_8),
        k.etag().getBytes(StandardCharsets.UTF_8)};
    ByteBuffer identity = ByteBuffer.allocate(6 + fields[0].length + fields[1].length
        + fields[2].length + 8);
    for (byte[] f : fields) {
      identity.putShort((short) f.length).put(f);
    }
    identity.putLong(k.index()).flip();
    String hash = HexFormat.of().formatHex(
        MessageDigest.getInstance("SHA-256").digest(identity.array()));

    int headerLength = 28 + identity.limit() - 8 + 4;
    ByteBuffer file = ByteBuffer.allocate(headerLength + payload.length);
    CRC32C payloadCrc = new CRC32C();
    payloadCrc.update(payload);
    file.putInt(0x53334342).putShort((short) 1).putShort((short) 0).putInt(headerLength)
        .putInt(payload.length).putInt((int) payloadCrc.getValue()).putLong(k.index());
    for (byte[] f : fields) {
      file.putShort((short) f.length).put(f);
    }
    CRC32C headerCrc = new CRC32C();
    headerCrc.update(file.array(), 0, file.position());
    file.putInt((int) headerCrc.getValue()).put(payload);

    Path path = dir.resolve("blocks").resolve(hash.substring(0, 2)).resolve(hash + ".blk");
    Files.createDirectories(path.getParent());
    Files.write(path, file.array());
    return path;
  }
}
