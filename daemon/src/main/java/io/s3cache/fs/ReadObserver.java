package io.s3cache.fs;

/**
 * What the read path tells a listener about reads of S3 objects through the mount: the mount's
 * epoch plans ({@code io.s3cache.plan.MountPlans}) moves its window on opens and counts the blocks
 * readers had to fetch themselves. Called on FUSE threads, inside the operation: must be quick.
 * Reads of staged (written) files are not reported.
 */
public interface ReadObserver {

  /** Tells nothing to nobody. */
  ReadObserver NONE = new ReadObserver() {
    @Override
    public void onOpen(String path) {}

    @Override
    public void onReaderFetches(String path, int blocks) {}
  };

  /** {@code path} (a mount path) was opened for reading an object from the cache or S3. */
  void onOpen(String path);

  /**
   * One read of {@code path} fetched {@code blocks} (&gt; 0) blocks from S3 on the reader's own
   * thread: they were neither cached nor on their way from a prefetch or another reader.
   */
  void onReaderFetches(String path, int blocks);
}
