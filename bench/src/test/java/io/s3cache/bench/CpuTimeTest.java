package io.s3cache.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CpuTimeTest {

  @Test
  void sumsUserSystemAndWaitedForChildrenTicks() {
    // fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ...
    String stat = "4242 (java) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 30 0 12345 0 0";
    assertEquals(3.10, CpuTime.parse(stat), 1e-9);
  }

  @Test
  void aThreadsOwnTimeLeavesOutItsProcesssChildren() {
    String stat = "4242 (java) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 30 0 12345 0 0";
    assertEquals(3.00, CpuTime.parseOwn(stat), 1e-9);
  }

  @Test
  void commandNamesWithSpacesAndParenthesesDoNotShiftTheFields() {
    String stat = "7 (a b) (c)) R 1 7 7 0 -1 0 0 0 0 0 100 0 0 0 20 0 1 0 1 0 0";
    assertEquals(1.0, CpuTime.parse(stat), 1e-9);
  }

  @Test
  void thisProcessHasUsedSomeCpu() {
    assertTrue(CpuTime.self() > 0);
  }
}
