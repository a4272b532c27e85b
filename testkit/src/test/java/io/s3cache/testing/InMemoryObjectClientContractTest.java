package io.s3cache.testing;

import io.s3cache.s3.ObjectClient;

/** The S3 contract against the in-memory fake, so the unit tests above it see what S3 would do. */
class InMemoryObjectClientContractTest extends ObjectClientContract {

  final InMemoryObjectClient store = new InMemoryObjectClient("contract");

  @Override
  protected ObjectClient client(String bucket, int maxAttempts) {
    return bucket.equals(store.bucket()) ? store : InMemoryObjectClient.ofMissingBucket(bucket);
  }

  @Override
  protected void put(String key, byte[] bytes) {
    store.put(key, bytes);
  }

  @Override
  protected String bucket() {
    return store.bucket();
  }
}
