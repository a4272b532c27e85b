package io.s3cache.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectClientException;
import io.s3cache.s3.ObjectClientException.Kind;
import io.s3cache.testing.FaultInjectingObjectClient.Op;
import org.junit.jupiter.api.Test;

/** The S3 contract through the fault-injecting client with nothing planned, and its planned faults. */
class FaultInjectingObjectClientTest extends InMemoryObjectClientContractTest {

  @Override
  protected ObjectClient client(String bucket, int maxAttempts) {
    return new FaultInjectingObjectClient(super.client(bucket, maxAttempts));
  }

  @Test
  void plannedFaultsFailOnlyTheirOperationThenPassThrough() throws Exception {
    store.put("k", new byte[] {1, 2, 3});
    FaultInjectingObjectClient client = new FaultInjectingObjectClient(store)
        .failNext(Op.HEAD, 2, Kind.SERVER_ERROR)
        .failNext(Op.HEAD, 1, Kind.ACCESS_DENIED);
    assertEquals(Kind.SERVER_ERROR, assertThrows(ObjectClientException.class, () -> client.head("k")).kind());
    assertEquals(3, client.list("", null, null, 10).objects().get(0).size(), "other operations pass through");
    assertEquals(Kind.SERVER_ERROR, assertThrows(ObjectClientException.class, () -> client.head("k")).kind());
    assertEquals(Kind.ACCESS_DENIED, assertThrows(ObjectClientException.class, () -> client.head("k")).kind());
    assertEquals(3, client.head("k").size());
    assertEquals(3, client.injected(Op.HEAD));
    assertEquals(1, store.heads.get(), "a failed request never reaches the wrapped client");
  }
}
