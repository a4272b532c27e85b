package io.s3cache.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class OperationRunnerTest {

  /** Distinct fake platform values, so a test sees which errno was chosen. */
  private static int value(Errno errno) {
    return 100 + errno.ordinal();
  }

  private final List<String> observed = new ArrayList<>();
  private final OperationRunner runner = new OperationRunner(new OperationObserver() {
    @Override
    public void succeeded(String op, long nanos) {
      observed.add(op + " ok");
    }

    @Override
    public void failed(String op, Errno errno, long nanos) {
      observed.add(op + " " + errno);
    }
  }, OperationRunnerTest::value, Long.MAX_VALUE);

  @AfterEach
  void clearInterrupt() {
    Thread.interrupted(); // never hand a set flag to the next test
  }

  /** Throws a checked exception the body's signature does not declare (as Lombok or Kotlin can). */
  @SuppressWarnings("unchecked")
  private static <T extends Throwable> int sneakyThrow(Throwable t) throws T {
    throw (T) t;
  }

  @Test
  void successReturnsTheBodysResult() {
    assertEquals(42, runner.call("read", "/a", () -> 42));
    assertEquals(List.of("read ok"), observed);
  }

  @Test
  void fsExceptionBecomesItsOwnErrno() {
    assertEquals(-value(Errno.ENOENT), runner.call("getattr", "/gone", () -> {
      throw FsException.notFound("/gone");
    }));
    assertEquals(-value(Errno.EROFS), runner.call("mkdir", "/d", () -> {
      throw FsException.readOnly("mkdir", "/d");
    }));
    assertEquals(List.of("getattr ENOENT", "mkdir EROFS"), observed);
  }

  @Test
  void ioExceptionWrappedByTheFilesystemKeepsItsErrno() {
    IOException cause = new IOException("503 SlowDown");
    assertEquals(-value(Errno.EIO), runner.call("read", "/a", () -> {
      throw new FsException(Errno.EIO, FsException.Level.WARN, "read /a", cause);
    }));
    assertEquals(List.of("read EIO"), observed);
  }

  @Test
  void ioExceptionThatEscapesTheFilesystemIsEio() {
    assertEquals(-value(Errno.EIO),
        runner.call("read", "/a", () -> sneakyThrow(new IOException("disk gone"))));
    assertEquals(List.of("read EIO"), observed);
  }

  @Test
  void unexpectedRuntimeExceptionOrErrorIsEioAndNeverUnwinds() {
    assertEquals(-value(Errno.EIO), runner.call("readdir", "/", () -> {
      throw new IllegalStateException("bug");
    }));
    assertEquals(-value(Errno.EIO), runner.call("open", "/a", () -> {
      throw new StackOverflowError();
    }));
    assertEquals(List.of("readdir EIO", "open EIO"), observed);
  }

  @Test
  void interruptedBodyFailingWithFsExceptionKeepsTheInterruptFlag() {
    int result = runner.call("read", "/a", () -> {
      Thread.currentThread().interrupt(); // as the cache does when its wait is interrupted
      throw new FsException(Errno.EIO, FsException.Level.WARN, "read /a",
          new InterruptedIOException("interrupted waiting for a block"));
    });
    assertEquals(-value(Errno.EIO), result);
    assertTrue(Thread.currentThread().isInterrupted(), "the runner must not clear the flag");
    assertEquals(List.of("read EIO"), observed);
  }

  @Test
  void swallowedInterruptedExceptionRestoresTheInterruptFlag() {
    int result = runner.call("read", "/a", () -> sneakyThrow(new InterruptedException()));
    assertEquals(-value(Errno.EIO), result);
    assertTrue(Thread.currentThread().isInterrupted(),
        "an InterruptedException the runner swallows must leave the thread interrupted");
    assertEquals(List.of("read EIO"), observed);
  }
}
