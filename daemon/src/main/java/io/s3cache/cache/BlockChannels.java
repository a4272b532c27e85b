package io.s3cache.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.s3cache.cache.BlockFileFormat.Header;
import java.io.IOException;
import java.nio.channels.FileChannel;

/**
 * The disk tier's open block files, each with its checked header, in a small bounded cache, so a
 * range read is one positional read instead of an open, a header read and a close.
 *
 * <p><b>Concurrency.</b> A {@link Handle} is reference counted: the cache holds one reference and
 * each reader one while it reads. A handle leaves the cache when it is evicted by size, when its
 * block is dropped from the tier ({@link #invalidate}) or when the tier closes; its channel is
 * closed when the last reference goes, so a read in progress is never cut short by an eviction
 * (Linux keeps an unlinked open file readable). Two readers that open the same file at once both
 * read; the second's handle is used once, uncached, and closed after its read. Caffeine runs
 * removals on the calling thread ({@code Runnable::run}); there is no lock of our own.
 */
final class BlockChannels implements AutoCloseable {

  /** Open files kept by default: 256 descriptors, each an 8 MiB block by default. */
  static final int DEFAULT_MAX_OPEN = 256;

  /** An open, header-checked block file. */
  static final class Handle {
    final DiskTier.Entry entry;
    final FileChannel channel;
    final Header header;
    private final RefCount refs = new RefCount(); // the creator's

    Handle(DiskTier.Entry entry, FileChannel channel, Header header) {
      this.entry = entry;
      this.channel = channel;
      this.header = header;
    }

    /** Takes a reference; false if the handle is closed already. */
    boolean retain() {
      return refs.retain();
    }

    /** Drops a reference; the last one closes the channel. */
    void release() {
      if (refs.release() == 0) {
        try {
          channel.close();
        } catch (IOException ignored) {
          // A read-only channel: nothing is lost.
        }
      }
    }
  }

  /** Opens and checks the file of an index entry. */
  interface Opener {
    Handle open(BlockKey key, DiskTier.Entry entry) throws IOException;
  }

  private final Cache<BlockKey, Handle> open;

  BlockChannels(int maxOpen) {
    open = Caffeine.newBuilder()
        .maximumSize(maxOpen)
        .executor(Runnable::run)
        .<BlockKey, Handle>removalListener((key, handle, cause) -> handle.release())
        .build();
  }

  /**
   * A handle on {@code entry}'s file, retained for the caller, who releases it after reading: the
   * cached one if it is for this very entry, else one opened now (and cached).
   */
  Handle acquire(BlockKey key, DiskTier.Entry entry, Opener opener) throws IOException {
    Handle cached = open.getIfPresent(key);
    if (cached != null) {
      if (cached.entry == entry && cached.retain()) {
        return cached;
      }
      open.asMap().remove(key, cached); // a file since replaced or dropped
    }
    Handle fresh = opener.open(key, entry); // the caller's reference
    if (fresh.retain() && open.asMap().putIfAbsent(key, fresh) != null) {
      fresh.release(); // another reader cached its own: ours serves this read only
    }
    return fresh;
  }

  /** Drops the key's handle from the cache (closed once no read holds it). */
  void invalidate(BlockKey key) {
    open.invalidate(key);
  }

  /** Drops {@code handle} if the cache still holds it for {@code key}. */
  void remove(BlockKey key, Handle handle) {
    open.asMap().remove(key, handle);
  }

  /** Files open now (cached ones; a read may hold one more for a moment). */
  long size() {
    open.cleanUp();
    return open.estimatedSize();
  }

  /** Drops every cached handle: their channels close as soon as no read holds them. */
  @Override
  public void close() {
    open.invalidateAll();
    open.cleanUp();
  }
}
