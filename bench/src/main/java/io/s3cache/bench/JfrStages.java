package io.s3cache.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;

/**
 * Where a daemon's CPU went, from the {@code jdk.ExecutionSample} events of a JFR recording: each
 * sample's stack is put in one stage. The stage is decided by the frame nearest the leaf that names
 * a "work" stage (checksum, signing, disk read/write, copy, HTTP client), else by the nearest frame
 * naming a "context" stage (tier lookup, FUSE callback), else "other": so a copy inside the HTTP
 * client counts as copy, and a socket read under the FUSE callback as HTTP client.
 */
final class JfrStages {

  enum Stage {
    FUSE("FUSE callback/jnr"),
    TIER_LOOKUP("tier lookup"),
    DISK_READ("disk read"),
    CHECKSUM("checksum"),
    COPY("copy"),
    HTTP_CLIENT("HTTP client"),
    SIGNING("signing"),
    DISK_WRITE("disk write"),
    OTHER("other");

    final String label;

    Stage(String label) {
      this.label = label;
    }
  }

  private JfrStages() {}

  /** The stage of one sampled stack, given as "class.method" frames from the leaf to the root. */
  static Stage classify(List<String> frames) {
    for (String f : frames) {
      Stage s = workStage(f);
      if (s != null) {
        return s;
      }
    }
    for (String f : frames) {
      Stage s = contextStage(f);
      if (s != null) {
        return s;
      }
    }
    return Stage.OTHER;
  }

  private static Stage workStage(String f) {
    if (f.startsWith("java.util.zip.CRC32") || f.startsWith("java.util.zip.Adler32") || f.contains("Checksum")
        || f.contains("Crc32")) {
      return Stage.CHECKSUM;
    }
    if (f.contains(".signer.") || f.contains("Signer") || f.contains("SigV4") || f.startsWith("javax.crypto.")
        || f.startsWith("com.sun.crypto.")) {
      return Stage.SIGNING;
    }
    if (f.startsWith("sun.nio.ch.FileChannelImpl.read") || f.startsWith("sun.nio.ch.FileDispatcherImpl.read")
        || f.startsWith("sun.nio.ch.FileDispatcherImpl.pread") || f.startsWith("java.io.RandomAccessFile.read")
        || f.startsWith("java.io.FileInputStream.read")) {
      return Stage.DISK_READ;
    }
    if (f.startsWith("sun.nio.ch.FileChannelImpl.write") || f.startsWith("sun.nio.ch.FileDispatcherImpl.write")
        || f.startsWith("sun.nio.ch.FileDispatcherImpl.pwrite") || f.startsWith("sun.nio.ch.FileChannelImpl.force")
        || f.startsWith("java.io.FileOutputStream.write") || f.startsWith("java.io.RandomAccessFile.write")) {
      return Stage.DISK_WRITE;
    }
    if (f.startsWith("jdk.internal.misc.Unsafe.copy") || f.startsWith("java.lang.System.arraycopy")
        || f.startsWith("java.util.Arrays.copyOf") || (f.startsWith("java.nio.") && f.contains("Buffer.put"))
        || f.startsWith("jnr.ffi.provider.jffi.DirectMemoryIO.put") || f.startsWith("jnr.ffi.provider.jffi.DirectMemoryIO.get")) {
      return Stage.COPY;
    }
    if (f.startsWith("org.apache.http.") || f.startsWith("software.amazon.awssdk.http.")
        || f.startsWith("software.amazon.awssdk.crt.") || f.startsWith("io.netty.") || f.startsWith("sun.nio.ch.Socket")
        || f.startsWith("sun.nio.ch.NioSocketImpl") || f.startsWith("java.net.Socket")
        || f.startsWith("sun.security.ssl.")) {
      return Stage.HTTP_CLIENT;
    }
    return null;
  }

  private static Stage contextStage(String f) {
    if (f.startsWith("io.s3cache.cache.")) {
      return Stage.TIER_LOOKUP;
    }
    if (f.startsWith("jnr.") || f.startsWith("ru.serce.jnrfuse.") || f.startsWith("com.kenai.jffi.")
        || f.startsWith("io.s3cache.fuse.") || f.startsWith("io.s3cache.fs.")) {
      return Stage.FUSE;
    }
    return null;
  }

  /** Samples per stage in a recording (every thread's execution samples). */
  static Map<Stage, Long> read(Path recording) throws IOException {
    Map<Stage, Long> counts = new EnumMap<>(Stage.class);
    for (Stage s : Stage.values()) {
      counts.put(s, 0L);
    }
    try (RecordingFile file = new RecordingFile(recording)) {
      while (file.hasMoreEvents()) {
        RecordedEvent e = file.readEvent();
        if (!e.getEventType().getName().equals("jdk.ExecutionSample") || e.getStackTrace() == null) {
          continue;
        }
        List<String> frames = new ArrayList<>();
        for (RecordedFrame f : e.getStackTrace().getFrames()) {
          frames.add(f.getMethod().getType().getName() + "." + f.getMethod().getName());
        }
        counts.merge(classify(frames), 1L, Long::sum);
      }
    }
    return counts;
  }

  /** A markdown table: stage | share of samples | CPU seconds (share of {@code cpuSeconds}) per column. */
  static String format(List<String> names, List<Map<Stage, Long>> columns, List<Double> cpuSeconds) {
    StringBuilder s = new StringBuilder("| stage |");
    names.forEach(n -> s.append(' ').append(n).append(" |"));
    s.append("\n|---|");
    names.forEach(n -> s.append("---|"));
    s.append('\n');
    for (Stage stage : Stage.values()) {
      s.append("| ").append(stage.label).append(" |");
      for (int i = 0; i < columns.size(); i++) {
        long total = columns.get(i).values().stream().mapToLong(Long::longValue).sum();
        double share = total == 0 ? 0 : columns.get(i).get(stage) / (double) total;
        s.append(String.format(Locale.ROOT, " %4.1f%% (%.2f CPU-s) |", 100 * share, share * cpuSeconds.get(i)));
      }
      s.append('\n');
    }
    s.append("| samples |");
    columns.forEach(c -> s.append(' ').append(c.values().stream().mapToLong(Long::longValue).sum()).append(" |"));
    return s.append('\n').toString();
  }
}
