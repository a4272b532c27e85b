package io.s3cache.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.s3cache.config.ByteSize;
import io.s3cache.control.ControlClient;
import io.s3cache.control.MountInfo;
import io.s3cache.control.StatsSnapshot;
import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code s3cache stats [MOUNTPOINT] [--json]}: the daemon's cache and S3 figures. */
@Command(mixinStandardHelpOptions = true, name = "stats", description = "Show cache hit ratios, bytes from S3, S3 latency and cache fill.")
final class StatsCommand implements Callable<Integer> {

  @Mixin SocketOption socket;

  @Parameters(index = "0", arity = "0..1", paramLabel = "MOUNTPOINT", description = "Only check this mount is served (figures are daemon-wide: the cache is shared)")
  String mountPoint;

  @Option(names = "--json", description = "Print JSON")
  boolean json;

  @Override
  public Integer call() throws Exception {
    StatsSnapshot s;
    try (ControlClient client = socket.connect()) {
      s = client.stats(mountPoint == null ? null : CliPaths.absolute(mountPoint));
    }
    PrintStream out = System.out;
    if (json) {
      out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(s));
      return 0;
    }
    out.printf(Locale.ROOT, "RAM tier:   %d hits, %d misses (%s), %s of %s%n", s.ramHits(), s.ramMisses(),
        ratio(s.ramHits(), s.ramMisses()), ByteSize.format(s.ramBytes()), ByteSize.format(s.ramCapBytes()));
    out.printf(Locale.ROOT, "disk tier:  %d hits, %d misses (%s), %s of %s, %d errors%n", s.diskHits(), s.diskMisses(),
        ratio(s.diskHits(), s.diskMisses()), ByteSize.format(s.diskBytes()), ByteSize.format(s.diskCapBytes()),
        s.diskErrors());
    out.printf(Locale.ROOT, "S3:         %d GETs, %s received, GET latency p50 %.1f ms, p99 %.1f ms%n", s.s3Gets(),
        ByteSize.format(s.bytesFromS3()), s.s3GetP50Millis(), s.s3GetP99Millis());
    out.printf(Locale.ROOT, "requests:   %s%n", s.requests().describe());
    out.printf(Locale.ROOT, "served:     %s to readers%n", ByteSize.format(s.bytesServed()));
    out.printf(Locale.ROOT, "prefetch:   %s prefetched, %s never read (hit ratio %.0f%%)%n",
        ByteSize.format(s.prefetchedBytes()), ByteSize.format(s.prefetchUnusedBytes()), s.prefetchHitRatio() * 100);
    for (MountInfo m : s.mounts()) {
      out.printf("mount:      %s  %s  (%d open files; %s)%n", m.mountPoint(), m.source(), m.openFiles(),
          m.requests().describe());
    }
    return 0;
  }

  private static String ratio(long hits, long misses) {
    long all = hits + misses;
    return all == 0 ? "no reads" : String.format(Locale.ROOT, "%.1f%% hits", 100.0 * hits / all);
  }
}
