package io.s3cache.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU time of a process from {@code /proc/PID/stat}: user + system of the process and of its
 * children it has waited for (so this JVM's figure includes each finished {@code dd}). On a
 * machine with few cores this says more than a wall time about what a tool costs.
 */
final class CpuTime {

  /** USER_HZ: the unit of /proc's times on every Linux architecture Java runs on. */
  private static final double TICKS_PER_SECOND = 100.0;

  private CpuTime() {}

  /** CPU seconds used so far by process {@code pid} and its waited-for children; NaN if it is gone. */
  static double seconds(long pid) {
    try {
      return parse(Files.readString(Path.of("/proc", Long.toString(pid), "stat")));
    } catch (IOException e) {
      return Double.NaN;
    }
  }

  static double self() {
    return seconds(ProcessHandle.current().pid());
  }

  /**
   * Fields 14–17 (utime, stime, cutime, cstime) of a stat line. The command name (field 2) is in
   * parentheses and may hold spaces or parentheses itself, so fields are counted after the last ')'.
   */
  static double parse(String stat) {
    return ticks(stat, 17) / TICKS_PER_SECOND;
  }

  /**
   * Fields 14–15 (utime, stime) only: for a thread's {@code /proc/PID/task/TID/stat}, whose
   * cutime and cstime are its whole process's waited-for children, counted again in every thread.
   */
  static double parseOwn(String stat) {
    return ticks(stat, 15) / TICKS_PER_SECOND;
  }

  private static long ticks(String stat, int lastField) {
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
    // f[0] is field 3 (state): field n is f[n - 3]
    long ticks = 0;
    for (int field = 14; field <= lastField; field++) {
      ticks += Long.parseLong(f[field - 3]);
    }
    return ticks;
  }
}
