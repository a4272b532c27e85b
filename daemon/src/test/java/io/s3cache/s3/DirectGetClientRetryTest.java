package io.s3cache.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * Every retry and fault case of {@link SdkObjectClientRetryTest}, with the read path's GETs made by
 * {@link DirectGetClient}.
 */
class DirectGetClientRetryTest extends SdkObjectClientRetryTest {

  @Override
  S3Config.GetClient getClient() {
    return S3Config.GetClient.DIRECT;
  }

  @Test
  void getsGoThroughTheDirectClientAndReuseOneConnection() throws Exception {
    assertEquals(DirectGetClient.class, client.getClass());
    for (int i = 0; i < 20; i++) {
      assertReadsCorrectly(i * 1000L, 1000);
    }
    assertEquals(1, proxy.connections(), "twenty GETs in a row on one kept-alive connection");
    assertEquals(20, attempts());
  }
}
