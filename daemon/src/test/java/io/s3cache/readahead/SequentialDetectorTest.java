package io.s3cache.readahead;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class SequentialDetectorTest {

  private static final int MiB = 1 << 20;
  private static final int BLOCK = 8 * MiB;
  private static final int REQUEST = 128 << 10;

  private final SequentialDetector detector = new SequentialDetector(BLOCK, 64L * MiB);

  /** Reads [from, to) in 128 KiB requests, in order; returns the window after the last. */
  private long readSequentially(long from, long to) {
    long window = -1;
    for (long pos = from; pos < to; pos += REQUEST) {
      window = detector.onRead(pos, REQUEST);
    }
    return window;
  }

  @Test
  void firstReadAtOffsetZeroStartsAStreamWithOneBlock() {
    assertEquals(BLOCK, detector.onRead(0, REQUEST));
  }

  @Test
  void windowDoublesOnEachBlockBoundaryUpToTheMaximum() {
    assertEquals(BLOCK, readSequentially(0, BLOCK));
    assertEquals(2L * BLOCK, detector.onRead(BLOCK, REQUEST)); // into block 1
    assertEquals(2L * BLOCK, readSequentially(BLOCK + REQUEST, 2L * BLOCK));
    assertEquals(4L * BLOCK, detector.onRead(2L * BLOCK, REQUEST));
    assertEquals(8L * BLOCK, readSequentially(2L * BLOCK + REQUEST, 3L * BLOCK + REQUEST));
    assertEquals(64L * MiB, readSequentially(3L * BLOCK + REQUEST, 20L * BLOCK));
  }

  @Test
  void aSeekResetsAndASecondSequentialReadConfirmsTheNewStream() {
    readSequentially(0, 3L * BLOCK);
    assertEquals(4L * BLOCK, detector.window());

    assertEquals(0, detector.onRead(100L * BLOCK, REQUEST)); // seek forward
    assertEquals(BLOCK, detector.onRead(100L * BLOCK + REQUEST, REQUEST));

    assertEquals(0, detector.onRead(5L * BLOCK, REQUEST)); // seek backward
    assertEquals(0, detector.onRead(50L * BLOCK, REQUEST)); // and again
    assertEquals(BLOCK, detector.onRead(50L * BLOCK + REQUEST, REQUEST));
  }

  @Test
  void aFirstReadElsewhereThanZeroWaitsForConfirmation() {
    assertEquals(0, detector.onRead(7L * BLOCK, REQUEST));
    assertEquals(BLOCK, detector.onRead(7L * BLOCK + REQUEST, REQUEST));
  }

  @Test
  void aReturnToOffsetZeroLaterIsASeek() {
    readSequentially(0, 2L * BLOCK);
    assertEquals(0, detector.onRead(0, REQUEST));
  }

  @Test
  void slightlyOutOfOrderRequestsStaySequential() {
    readSequentially(0, BLOCK - 2L * REQUEST);
    long window = detector.window();
    // Three libfuse threads serve the next requests out of order.
    assertEquals(window, detector.onRead(BLOCK - REQUEST, REQUEST));
    assertEquals(window, detector.onRead(BLOCK - 2L * REQUEST, REQUEST));
    assertEquals(2 * window, detector.onRead(BLOCK + REQUEST, REQUEST));
    assertEquals(2 * window, detector.onRead(BLOCK, REQUEST)); // late, inside the tolerance
  }

  @Test
  void readsBeyondTheToleranceAreSeeks() {
    SequentialDetector strict = new SequentialDetector(BLOCK, 64L * MiB, REQUEST);
    strict.onRead(0, REQUEST);
    assertEquals(BLOCK, strict.onRead(2L * REQUEST, REQUEST)); // one request skipped: tolerated
    assertEquals(0, strict.onRead(5L * REQUEST, REQUEST)); // two: a seek
  }

  @Test
  void windowNeverExceedsAMaximumBelowOneBlock() {
    SequentialDetector small = new SequentialDetector(BLOCK, MiB);
    assertEquals(MiB, small.onRead(0, REQUEST));
    long window = 0;
    for (long pos = REQUEST; pos < 3L * BLOCK; pos += REQUEST) {
      window = small.onRead(pos, REQUEST);
    }
    assertEquals(MiB, window);
  }

  @Test
  void zeroMaximumNeverReadsAhead() {
    SequentialDetector off = new SequentialDetector(BLOCK, 0);
    assertEquals(0, off.onRead(0, REQUEST));
    assertEquals(0, off.onRead(REQUEST, REQUEST));
  }
}
