package io.s3cache.mount;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.s3cache.cache.BlockKey;
import io.s3cache.s3.ObjectClientException;
import io.s3cache.s3.ObjectClientException.Kind;
import io.s3cache.testing.FaultInjectingObjectClient;
import io.s3cache.testing.FaultInjectingObjectClient.Op;
import io.s3cache.testing.InMemoryObjectClient;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Issue 15 item 7: the kernel retries a failed read at once; a block whose fetch just ran out of
 * attempts fails again at once instead of waiting out the whole bound a second time.
 */
class MountSourceTest {

  private final InMemoryObjectClient store = new InMemoryObjectClient("b");
  private final FaultInjectingObjectClient faults = new FaultInjectingObjectClient(store);
  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final MountSource source = new MountSource(faults, now::get);
  private final String etag = store.put("k", "0123456789".getBytes(StandardCharsets.UTF_8));
  private final BlockKey block = new BlockKey("b", "k", etag, 0);

  @Test
  void aBlockThatFoundNoAnswerFailsAgainAtOnceWithinTheWindowThenIsFetchedAgain() throws Exception {
    faults.failNext(Op.GET, 1, Kind.UNREACHABLE);
    assertEquals(Kind.UNREACHABLE, assertThrows(ObjectClientException.class,
        () -> source.fetch(block, 0, ByteBuffer.allocate(10))).kind());
    now.addAndGet(MountSource.REPEAT_WINDOW_NANOS - 1);
    ObjectClientException again = assertThrows(ObjectClientException.class,
        () -> source.fetch(block, 0, ByteBuffer.allocate(10)));
    assertEquals(Kind.UNREACHABLE, again.kind());
    assertEquals(1, faults.injected(Op.GET));
    assertEquals(0, store.gets.get(), "the retry within the window sent nothing");
    now.addAndGet(1);
    ByteBuffer dst = ByteBuffer.allocate(10);
    source.fetch(block, 0, dst);
    assertEquals(10, dst.position());
  }

  @Test
  void refusedCredentialsAreNotRemembered() throws Exception {
    faults.failNext(Op.GET, 1, Kind.CREDENTIALS);
    assertThrows(ObjectClientException.class, () -> source.fetch(block, 0, ByteBuffer.allocate(10)));
    ByteBuffer dst = ByteBuffer.allocate(10);
    source.fetch(block, 0, dst); // fresh credentials must work at once
    assertEquals(10, dst.position());
  }

  @Test
  void otherBlocksAreFetchedAsUsual() throws Exception {
    faults.failNext(Op.GET, 1, Kind.SERVER_ERROR);
    assertThrows(ObjectClientException.class, () -> source.fetch(block, 0, ByteBuffer.allocate(10)));
    ByteBuffer dst = ByteBuffer.allocate(5);
    source.fetch(new BlockKey("b", "k", etag, 1), 5, dst);
    assertEquals(5, dst.position());
  }
}
