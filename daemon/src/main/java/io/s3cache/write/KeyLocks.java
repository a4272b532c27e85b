package io.s3cache.write;

import java.util.concurrent.locks.ReentrantLock;

/**
 * Serialises what writes one S3 key of a writable mount: an upload of a staged file, and a rename
 * onto that key from its copy (or upload) until the stage it replaces is taken out. Without it, a
 * file being closed could finish its upload after a rename had put other bytes under its key.
 *
 * <p>Striped: keys share 256 locks by hash, so unrelated keys may wait on each other for one
 * upload's time, never deadlock: lock order is a stage's lock, then a key lock, then {@link
 * WriteStages}'s structure lock; no stage lock is taken while a key lock is held, and no thread holds
 * two key locks except one it already holds (the locks are reentrant).
 */
final class KeyLocks {

  private final ReentrantLock[] stripes = new ReentrantLock[256];

  KeyLocks() {
    for (int i = 0; i < stripes.length; i++) {
      stripes[i] = new ReentrantLock();
    }
  }

  ReentrantLock of(String key) {
    return stripes[Math.floorMod(key.hashCode(), stripes.length)];
  }
}
