package io.s3cache.mount;

import io.s3cache.cache.BlockKey;
import io.s3cache.cache.BlockSource;
import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectClientException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntConsumer;
import java.util.function.LongSupplier;

/**
 * Where one mount's missed blocks come from: that mount's own client, so its timeouts, retries and
 * credentials apply to every block it fetches (the blocks themselves are shared).
 *
 * <p>A block whose fetch failed for want of an answer (stalls, timeouts, 5xx through every
 * attempt) fails again at once for {@link #REPEAT_WINDOW_NANOS} instead of being fetched again: the
 * kernel retries a failed buffered read at once, page by page, and without this a reader of a
 * stalled store would wait the whole bound twice. Refusals (403, expired credentials) are not
 * remembered: fresh credentials must work at once.
 */
final class MountSource implements BlockSource {

  /** Long enough for the kernel's immediate retry, short enough not to outlive an outage. */
  static final long REPEAT_WINDOW_NANOS = 2_000_000_000L;

  private record Failure(ObjectClientException error, long at) {}

  private final ObjectClient client;
  private final LongSupplier nanoTime;
  private final Map<BlockKey, Failure> recent = new ConcurrentHashMap<>();

  MountSource(ObjectClient client) {
    this(client, System::nanoTime);
  }

  MountSource(ObjectClient client, LongSupplier nanoTime) {
    this.client = client;
    this.nanoTime = nanoTime;
  }

  @Override
  public void fetch(BlockKey key, long offset, ByteBuffer dst) throws IOException {
    fetch(key, offset, dst, n -> {});
  }

  @Override
  public void fetch(BlockKey key, long offset, ByteBuffer dst, IntConsumer arrived) throws IOException {
    long now = nanoTime.getAsLong();
    Failure last = recent.get(key);
    if (last != null) {
      if (now - last.at() < REPEAT_WINDOW_NANOS) {
        throw new ObjectClientException(last.error().kind(), last.error().getMessage()
            + " (failed " + (now - last.at()) / 1_000_000 + " ms ago; not retried yet)", last.error());
      }
      recent.remove(key, last);
    }
    try {
      client.getRange(key.key(), key.etag(), offset, dst, arrived);
    } catch (ObjectClientException e) {
      if (e.kind() == ObjectClientException.Kind.UNREACHABLE || e.kind() == ObjectClientException.Kind.SERVER_ERROR) {
        if (recent.size() > 10_000) {
          recent.clear(); // an outage over a whole dataset: memory stays bounded, the window is a nicety
        }
        recent.put(key, new Failure(e, nanoTime.getAsLong()));
      }
      throw e;
    }
  }
}
