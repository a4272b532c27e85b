package io.s3cache.plan;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process that sent a plan (its pid from the control socket's SO_PEERCRED), identified by pid
 * and start time, so a pid reused by a later process does not keep a dead client's plan alive.
 *
 * @param pid the process id in the daemon's pid namespace
 * @param startTicks field 22 of {@code /proc/PID/stat} when the plan was accepted (-1 unreadable)
 */
public record ClientProcess(int pid, long startTicks) {

  /** The process {@code pid} as it is now. */
  public static ClientProcess of(int pid) {
    return new ClientProcess(pid, startTicks(pid));
  }

  /** True while the same process runs (not a zombie, and its start time unchanged). */
  public boolean alive() {
    String[] f = fields(pid);
    if (f == null || f[0].equals("Z") || f[0].equals("X")) {
      return false; // f[0] is field 3, the state
    }
    return startTicks < 0 || Long.parseLong(f[19]) == startTicks;
  }

  private static long startTicks(int pid) {
    String[] f = fields(pid);
    return f == null ? -1 : Long.parseLong(f[19]);
  }

  /** {@code /proc/PID/stat} from field 3 on (f[19] is field 22, the start time), or null. */
  private static String[] fields(int pid) {
    String stat = stat(pid);
    if (stat == null) {
      return null;
    }
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" "); // the name may hold ") "
    return f.length < 20 ? null : f;
  }

  private static String stat(int pid) {
    if (pid <= 0) {
      return null;
    }
    try {
      return Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}
