package io.s3cache.cache;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A reference count that starts at one (the creator's) and, once it reaches zero, never comes
 * back: {@link #retain} fails from then on, so a holder can never revive something already given
 * back ({@link BlockBuffer}, {@link BlockChannels.Handle}).
 */
final class RefCount {

  private final AtomicInteger refs = new AtomicInteger(1);

  /** Takes a reference; false once the count reached zero. */
  boolean retain() {
    for (int r = refs.get(); r > 0; r = refs.get()) {
      if (refs.compareAndSet(r, r + 1)) {
        return true;
      }
    }
    return false;
  }

  /** Drops a reference; returns the references left (0: the last one went). */
  int release() {
    return refs.decrementAndGet();
  }

  int get() {
    return refs.get();
  }
}
