package io.s3cache.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.channels.ClosedByInterruptException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Leaders and waiters are lined up with latches: the waiter hook says a caller is about to wait. */
@Timeout(30)
class SingleFlightTest {

  private final CountDownLatch waiting = new CountDownLatch(1);
  private final AtomicInteger waits = new AtomicInteger();
  private final SingleFlight<String, String> flights = new SingleFlight<>(() -> {
    waits.incrementAndGet();
    waiting.countDown();
  });
  private final ExecutorService pool = Executors.newFixedThreadPool(8);

  @AfterEach
  void tearDown() {
    pool.shutdownNow();
  }

  /** A loader that says it started, then blocks until released (interruptibly). */
  private static SingleFlight.Loader<String> held(CountDownLatch started, CountDownLatch release,
      String value) {
    return () -> {
      started.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("load interrupted");
      }
      return value;
    };
  }

  @Test
  void concurrentCallersShareOneLoad() throws Exception {
    CountDownLatch allWaiting = new CountDownLatch(4);
    SingleFlight<String, String> shared = new SingleFlight<>(allWaiting::countDown);
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger loads = new AtomicInteger();
    SingleFlight.Loader<String> loader = () -> {
      loads.incrementAndGet();
      return held(started, release, "v").load();
    };
    Future<String> leader = pool.submit(() -> shared.load("k", loader));
    started.await();
    List<Future<String>> waiters = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      waiters.add(pool.submit(() -> shared.load("k", loader)));
    }
    allWaiting.await();
    assertEquals("o", shared.load("other", () -> "o"), "another key is not held up");
    release.countDown();
    assertEquals("v", leader.get());
    for (Future<String> w : waiters) {
      assertEquals("v", w.get());
    }
    assertEquals(1, loads.get());
  }

  @Test
  void leaderFailureReachesItsWaitersAndTheNextCallRetries() throws Exception {
    assertFailureReachesLeaderAndWaiter("k", new IOException("503 SlowDown"));
    assertEquals("again", flights.load("k", () -> "again"), "a failed load is not remembered");
  }

  @Test
  void leaderRuntimeExceptionReachesWaitersUnchanged() throws Exception {
    assertFailureReachesLeaderAndWaiter("k", new IllegalStateException("bug"));
  }

  private void assertFailureReachesLeaderAndWaiter(String key, Exception failure)
      throws Exception {
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Future<String> leader = pool.submit(() -> flights.load(key, () -> {
      held(started, release, "unused").load();
      if (failure instanceof IOException io) {
        throw io;
      }
      throw (RuntimeException) failure;
    }));
    started.await();
    Future<String> waiter = pool.submit(() -> flights.load(key, () -> "never: the load is shared"));
    waiting.await();
    release.countDown();
    assertSame(failure, assertThrows(ExecutionException.class, leader::get).getCause());
    assertSame(failure, assertThrows(ExecutionException.class, waiter::get).getCause());
  }

  @Test
  void interruptedLeaderDoesNotFailItsWaitersOneOfThemTakesOver() throws Exception {
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch neverReleased = new CountDownLatch(1);
    AtomicReference<Thread> leaderThread = new AtomicReference<>();
    AtomicReference<Boolean> leaderFlag = new AtomicReference<>();
    Future<String> leader = pool.submit(() -> {
      leaderThread.set(Thread.currentThread());
      try {
        return flights.load("k", held(started, neverReleased, "unused"));
      } finally {
        leaderFlag.set(Thread.interrupted()); // read and clear: the pool thread is reused
      }
    });
    started.await();
    AtomicInteger takeOvers = new AtomicInteger();
    Future<String> waiter = pool.submit(() -> flights.load("k", () -> {
      takeOvers.incrementAndGet();
      return "from the new leader";
    }));
    waiting.await();
    leaderThread.get().interrupt();

    ExecutionException e = assertThrows(ExecutionException.class, leader::get);
    assertInstanceOf(InterruptedIOException.class, e.getCause());
    assertTrue(leaderFlag.get(), "the leader keeps its interrupt flag");
    assertEquals("from the new leader", waiter.get(), "the waiter retried instead of failing");
    assertEquals(1, takeOvers.get());
  }

  @Test
  void leaderFailingOtherwiseWhileInterruptedIsReportedAsAnInterrupt() throws Exception {
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    ClosedByInterruptException closed = new ClosedByInterruptException();
    AtomicReference<Boolean> leaderFlag = new AtomicReference<>();
    Future<String> leader = pool.submit(() -> {
      try {
        return flights.load("k", () -> {
          held(started, release, "unused").load();
          Thread.currentThread().interrupt(); // as a channel closed by an interrupt leaves it
          throw closed;
        });
      } finally {
        leaderFlag.set(Thread.interrupted());
      }
    });
    started.await();
    Future<String> waiter = pool.submit(() -> flights.load("k", () -> "retried"));
    waiting.await();
    release.countDown();

    Throwable thrown = assertThrows(ExecutionException.class, leader::get).getCause();
    assertInstanceOf(InterruptedIOException.class, thrown);
    assertSame(closed, thrown.getCause(), "the original failure is kept as the cause");
    assertTrue(leaderFlag.get());
    assertEquals("retried", waiter.get());
  }

  @Test
  void interruptedWaiterGetsInterruptedIoExceptionAndTheLeaderIsUnaffected() throws Exception {
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Future<String> leader = pool.submit(() -> flights.load("k", held(started, release, "v")));
    started.await();
    Thread.currentThread().interrupt();
    try {
      assertThrows(InterruptedIOException.class, () -> flights.load("k", () -> "never"));
      assertTrue(Thread.currentThread().isInterrupted(), "the waiter keeps its interrupt flag");
    } finally {
      Thread.interrupted();
    }
    release.countDown();
    assertEquals("v", leader.get());
  }

  @Test
  void successDespiteAnInterruptIsShared() throws Exception {
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Future<String> leader = pool.submit(() -> {
      try {
        return flights.load("k", () -> {
          held(started, release, "unused").load();
          Thread.currentThread().interrupt();
          return "done anyway";
        });
      } finally {
        Thread.interrupted();
      }
    });
    started.await();
    Future<String> waiter = pool.submit(() -> flights.load("k", () -> "never"));
    waiting.await();
    release.countDown();
    assertEquals("done anyway", leader.get());
    assertEquals("done anyway", waiter.get());
    assertFalse(Thread.currentThread().isInterrupted());
  }
}
