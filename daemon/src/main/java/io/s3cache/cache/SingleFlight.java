package io.s3cache.cache;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;

/**
 * At most one load per key at a time: concurrent callers for the same key share the first one's
 * result.
 *
 * <p><b>Concurrency.</b> {@code inflight} maps a key to the future of its load. The first caller
 * to put its own future there is the <em>leader</em>: it runs its loader on its own thread,
 * completes the future and then removes it (only its own), so a caller arriving afterwards either
 * finds what the loader stored (the loader's business, e.g. the RAM tier) or leads a new load.
 * Every other caller is a <em>waiter</em> and blocks on the leader's future, with no lock held.
 *
 * <p><b>Failures.</b> A leader's exception (IOException, RuntimeException or Error) reaches every
 * waiter of that round unchanged, and the entry is gone, so the next call retries. A waiter
 * interrupted while waiting throws {@link InterruptedIOException} with its interrupt flag kept;
 * the leader is unaffected.
 *
 * <p><b>Interrupted leader.</b> A leader whose load fails while its thread is interrupted (an
 * interrupted fetch, a channel closed by the interrupt, ...) does not hand that failure to the
 * waiters, who were not interrupted: their round ends without a result and they start over, one of
 * them becoming the new leader. The leader itself throws {@link InterruptedIOException} (the
 * original failure as its cause unless it already was one) and keeps its interrupt flag. A load
 * that succeeds despite an interrupt is shared as usual.
 */
final class SingleFlight<K, V> {

  /** The load a leader runs; never returns null. */
  @FunctionalInterface
  interface Loader<V> {
    V load() throws IOException;
  }

  /** Ends a round whose leader was interrupted: its waiters start over. */
  private static final class LeaderInterrupted extends Exception {
    LeaderInterrupted() {
      super(null, null, false, false);
    }
  }

  private final ConcurrentHashMap<K, CompletableFuture<V>> inflight = new ConcurrentHashMap<>();
  private final Runnable onWait;

  /** @param onWait run each time a caller is about to wait on another's load (a metric) */
  SingleFlight(Runnable onWait) {
    this.onWait = onWait;
  }

  /**
   * The value of {@code key}: this caller's own load if none is in flight, else the one in flight.
   *
   * @throws InterruptedIOException if this thread was interrupted waiting, or while leading
   * @throws IOException the leader's failure (shared by its waiters)
   */
  V load(K key, Loader<V> loader) throws IOException {
    while (true) {
      CompletableFuture<V> mine = new CompletableFuture<>();
      CompletableFuture<V> leader = inflight.putIfAbsent(key, mine);
      if (leader == null) {
        return lead(key, loader, mine);
      }
      onWait.run();
      try {
        return leader.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted waiting for " + key);
      } catch (ExecutionException e) {
        rethrow(e.getCause()); // returns only for an interrupted leader: start over
      }
    }
  }

  private V lead(K key, Loader<V> loader, CompletableFuture<V> mine) throws IOException {
    try {
      V value = Objects.requireNonNull(loader.load(), "loader returned null");
      mine.complete(value);
      return value;
    } catch (IOException | RuntimeException | Error e) {
      if (Thread.currentThread().isInterrupted()) {
        mine.completeExceptionally(new LeaderInterrupted());
        if (e instanceof InterruptedIOException iio) {
          throw iio;
        }
        InterruptedIOException iio = new InterruptedIOException("interrupted loading " + key);
        iio.initCause(e);
        throw iio;
      }
      mine.completeExceptionally(e);
      throw e;
    } finally {
      inflight.remove(key, mine);
    }
  }

  /** Throws the leader's failure as itself; returns if the leader was interrupted. */
  static void rethrow(Throwable cause) throws IOException {
    if (cause instanceof LeaderInterrupted) {
      return;
    }
    if (cause instanceof IOException io) {
      throw io;
    }
    if (cause instanceof RuntimeException re) {
      throw re;
    }
    if (cause instanceof Error err) {
      throw err;
    }
    throw new IOException(cause);
  }
}
