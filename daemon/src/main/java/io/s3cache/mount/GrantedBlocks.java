package io.s3cache.mount;

import io.s3cache.cache.BlockCache;
import io.s3cache.cache.BlockKey;
import io.s3cache.s3.ReadGrants;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * One mount's view of the shared block cache that hands out a block only once the mount's own
 * credentials may read its object version (see {@link ReadGrants}): a block the mount fetched
 * itself passes at once; one another mount (or an earlier run) fetched costs one HEAD per version
 * first. Reads of files and the copy a write into an existing file starts from both go through it.
 */
final class GrantedBlocks implements BlockCache {

  private final BlockCache delegate;
  private final ReadGrants grants;

  GrantedBlocks(BlockCache delegate, ReadGrants grants) {
    this.delegate = delegate;
    this.grants = grants;
  }

  @Override
  public int blockSize() {
    return delegate.blockSize();
  }

  @Override
  public ByteBuffer get(BlockKey key, int length) throws IOException {
    ByteBuffer block = delegate.get(key, length);
    check(key);
    return block;
  }

  @Override
  public ByteBuffer get(BlockKey key, int length, Runnable onSourceFetch) throws IOException {
    ByteBuffer block = delegate.get(key, length, onSourceFetch);
    check(key);
    return block;
  }

  /**
   * Read-ahead and plan prefetch: no bytes leave the cache, so no grant is needed (the reader's
   * {@link #read} that follows checks it), and nothing is copied.
   */
  @Override
  public void load(BlockKey key, int length) throws IOException {
    delegate.load(key, length);
  }

  /** The bytes land in {@code dst} first; on a refusal the caller fails and never returns them. */
  @Override
  public void read(BlockKey key, int length, int offsetInBlock, ByteBuffer dst, Runnable onSourceFetch)
      throws IOException {
    delegate.read(key, length, offsetInBlock, dst, onSourceFetch);
    check(key);
  }

  private void check(BlockKey key) throws IOException {
    if (!grants.granted(key.key(), key.etag())) {
      grants.confirm(key.key(), key.etag());
    }
  }

  @Override
  public boolean isCached(BlockKey key) {
    return delegate.isCached(key);
  }

  @Override
  public boolean isInMemory(BlockKey key) {
    return delegate.isInMemory(key);
  }

  @Override
  public void fill(BlockKey key, ByteBuffer block) {
    delegate.fill(key, block);
  }

  @Override
  public void close() {
    delegate.close();
  }
}
