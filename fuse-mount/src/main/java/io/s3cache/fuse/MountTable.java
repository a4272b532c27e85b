package io.s3cache.fuse;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Reads the kernel's mount table ({@code /proc/self/mountinfo}). */
public final class MountTable {

  private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

  /**
   * One line of mountinfo: where, what type ("fuse.s3cache"), the source ("s3cache:bucket") and the
   * device number ("0:52"), which names the mount's backing device info under /sys/class/bdi.
   */
  public record Entry(Path mountPoint, String fsType, String source, String device) {}

  private MountTable() {}

  public static List<Entry> read() {
    try {
      List<Entry> entries = new ArrayList<>();
      for (String line : Files.readAllLines(MOUNTINFO)) {
        parse(line).ifPresent(entries::add);
      }
      return entries;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + MOUNTINFO, e);
    }
  }

  /** The entry mounted at exactly {@code mountPoint}, if any (the last one wins, as in the kernel). */
  public static Optional<Entry> find(Path mountPoint) {
    Path wanted = mountPoint.toAbsolutePath().normalize();
    Entry found = null;
    for (Entry e : read()) {
      if (e.mountPoint().equals(wanted)) {
        found = e;
      }
    }
    return Optional.ofNullable(found);
  }

  public static boolean isMounted(Path mountPoint) {
    return find(mountPoint).isPresent();
  }

  // Format: id parent major:minor root mountpoint options [optional...] - fstype source superopts
  static Optional<Entry> parse(String line) {
    String[] fields = line.split(" ");
    int dash = -1;
    for (int i = 6; i < fields.length; i++) {
      if (fields[i].equals("-")) {
        dash = i;
        break;
      }
    }
    if (fields.length < 7 || dash < 0 || dash + 2 >= fields.length) {
      return Optional.empty();
    }
    return Optional.of(new Entry(Path.of(unescape(fields[4])), fields[dash + 1], unescape(fields[dash + 2]), fields[2]));
  }

  /** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
  static String unescape(String s) {
    if (s.indexOf('\\') < 0) {
      return s;
    }
    StringBuilder out = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && isOctal(s, i + 1)) {
        out.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  private static boolean isOctal(String s, int from) {
    if (from + 3 > s.length()) {
      return false;
    }
    for (int i = from; i < from + 3; i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '7') {
        return false;
      }
    }
    return true;
  }
}
