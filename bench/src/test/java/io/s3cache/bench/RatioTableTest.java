package io.s3cache.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class RatioTableTest {

  @Test
  void rowShowsValueReferenceRatioTargetAndVerdict() {
    RatioTable t = new RatioTable();
    t.add("warm seq", 900, "MB/s", 1000, "local disk", RatioTable.Goal.atLeast(0.9));
    t.add("cpu", 3, "CPU-s/GiB", 2, "s3fs", RatioTable.Goal.atMost(1.0));
    String[] lines = t.format().split("\n");
    assertEquals("| warm seq | 900 MB/s | 1,000 MB/s local disk | 0.90x | >= 0.90x | yes |", lines[2]);
    assertEquals("| cpu | 3.00 CPU-s/GiB | 2.00 CPU-s/GiB s3fs | 1.50x | <= 1.00x | NO |", lines[3]);
  }

  @Test
  void absoluteGoalComparesTheValueItself() {
    RatioTable t = new RatioTable();
    t.add("plan", 1200, "GET/s", Double.NaN, "2000 GETs in 1.7 s", RatioTable.Goal.valueAtLeast(1000));
    assertEquals("| plan | 1,200 GET/s | 2000 GETs in 1.7 s | - | >= 1,000 GET/s | yes |", t.format().split("\n")[2]);
  }

  @Test
  void missingReferenceIsNotApplicableNotAPass() {
    RatioTable t = new RatioTable();
    t.add("cold vs s3fs", 500, "MB/s", Double.NaN, "s3fs not installed", RatioTable.Goal.atLeast(1.1));
    assertEquals("| cold vs s3fs | 500 MB/s | s3fs not installed | - | >= 1.10x | n/a |", t.format().split("\n")[2]);
  }

  @Test
  void goalsAtTheirBound() {
    assertTrue(RatioTable.Goal.atLeast(0.9).met(0.9));
    assertFalse(RatioTable.Goal.atLeast(0.9).met(0.89));
    assertTrue(RatioTable.Goal.valueAtMost(300).met(300));
    assertFalse(RatioTable.Goal.valueAtMost(300).met(301));
  }

  @Test
  void numbersKeepReadableDigits() {
    assertEquals("12,345", RatioTable.number(12345.4));
    assertEquals("42.5", RatioTable.number(42.54));
    assertEquals("0.123", RatioTable.number(0.12345));
    assertEquals("n/a", RatioTable.number(Double.NaN));
  }
}
