package io.s3cache.mount;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.s3cache.cache.BlockCache;
import io.s3cache.cache.BlockKey;
import io.s3cache.s3.ObjectClientException;
import io.s3cache.s3.ReadGrants;
import io.s3cache.testing.FaultInjectingObjectClient;
import io.s3cache.testing.InMemoryObjectClient;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A mount's granted view of the shared cache: what it checks, and what it passes on untouched. */
class GrantedBlocksTest {

  private final InMemoryObjectClient store = new InMemoryObjectClient("b");
  private final ReadGrants grants = new ReadGrants(new FaultInjectingObjectClient(store), 100);
  private final String etag = store.put("k", "bytes of k".getBytes(StandardCharsets.UTF_8));
  private final BlockKey key = new BlockKey("b", "k", etag, 0);

  /** A cache that holds every block (another mount fetched it) and records what it was asked. */
  private final List<String> calls = new ArrayList<>();
  private final BlockCache shared = new BlockCache() {
    @Override
    public int blockSize() {
      return 1 << 20;
    }

    @Override
    public ByteBuffer get(BlockKey k, int length) {
      calls.add("get");
      return ByteBuffer.allocate(length);
    }

    @Override
    public void load(BlockKey k, int length) {
      calls.add("load");
    }

    @Override
    public void read(BlockKey k, int length, int offsetInBlock, ByteBuffer dst, Runnable onSourceFetch) {
      calls.add("read");
      dst.position(dst.position() + dst.remaining());
    }

    @Override
    public void close() {}
  };
  private final GrantedBlocks view = new GrantedBlocks(shared, grants);

  @Test
  void readAheadLoadsWithoutACopyOrAHead() throws Exception {
    view.load(key, 10);
    assertEquals(List.of("load"), calls, "a load is passed on as a load, not a get that copies the block");
    assertEquals(0, store.heads.get(), "no bytes leave the cache: nothing to confirm");
  }

  @Test
  void aReadOfAVersionOthersFetchedIsConfirmedOnceByAHead() throws Exception {
    view.read(key, 10, 0, ByteBuffer.allocate(4), () -> {});
    view.read(key, 10, 4, ByteBuffer.allocate(4), () -> {});
    assertEquals(List.of("read", "read"), calls);
    assertEquals(1, store.heads.get());
  }

  @Test
  void aReadOfAVersionGoneFromS3Fails() throws Exception {
    store.delete("k");
    assertThrows(ObjectClientException.class, () -> view.read(key, 10, 0, ByteBuffer.allocate(4), () -> {}));
  }
}
