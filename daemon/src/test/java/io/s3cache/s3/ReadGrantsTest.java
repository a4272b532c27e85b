package io.s3cache.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.s3cache.s3.ObjectClientException.Kind;
import io.s3cache.testing.FaultInjectingObjectClient;
import io.s3cache.testing.FaultInjectingObjectClient.Op;
import io.s3cache.testing.InMemoryObjectClient;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Issue 15 item 6: what one mount's credentials have read, and the HEAD that asks for the rest. */
class ReadGrantsTest {

  private final InMemoryObjectClient store = new InMemoryObjectClient("b");
  private final FaultInjectingObjectClient faults = new FaultInjectingObjectClient(store);
  private final ReadGrants grants = new ReadGrants(faults, 100);
  private final String etag = store.put("k", "bytes of k".getBytes(StandardCharsets.UTF_8));

  @Test
  void aGetThroughTheMountsClientGrantsItsVersionWithTheFirstBytes() throws Exception {
    assertFalse(grants.granted("k", etag));
    boolean[] grantedWhenTold = {false};
    grants.client().getRange("k", etag, 0, ByteBuffer.allocate(5),
        n -> grantedWhenTold[0] = grants.granted("k", etag));
    assertTrue(grantedWhenTold[0], "granted before a waiting reader hears of the bytes");
    grants.confirm("k", etag);
    assertEquals(0, store.heads.get(), "a granted version needs no HEAD");
  }

  @Test
  void anUngrantedVersionIsConfirmedByOneHeadThenRemembered() throws Exception {
    grants.confirm("k", etag);
    grants.confirm("k", etag);
    assertEquals(1, store.heads.get());
    assertTrue(grants.granted("k", etag));
  }

  @Test
  void aRefusedHeadRefusesTheCachedBytesAndGrantsNothing() {
    faults.failNext(Op.HEAD, 1, Kind.CREDENTIALS);
    ObjectClientException e = assertThrows(ObjectClientException.class, () -> grants.confirm("k", etag));
    assertEquals(Kind.CREDENTIALS, e.kind());
    assertFalse(grants.granted("k", etag));
  }

  @Test
  void aFailedGetGrantsNothing() {
    faults.failNext(Op.GET, 1, Kind.ACCESS_DENIED);
    assertThrows(ObjectClientException.class,
        () -> grants.client().getRange("k", etag, 0, ByteBuffer.allocate(5), n -> {}));
    assertFalse(grants.granted("k", etag));
  }

  @Test
  void anotherVersionNowIsAChangedObjectNotAGrant() {
    store.put("k", "new bytes".getBytes(StandardCharsets.UTF_8));
    ObjectClientException e = assertThrows(ObjectClientException.class, () -> grants.confirm("k", etag));
    assertEquals(Kind.PRECONDITION_FAILED, e.kind());
    assertFalse(grants.granted("k", etag));
  }

  @Test
  void aListingGrantsNothing() throws Exception {
    grants.client().list("", "/", null, 1000);
    assertFalse(grants.granted("k", etag), "LIST needs s3:ListBucket only, not s3:GetObject");
  }
}
