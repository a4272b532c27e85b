package io.s3cache.bench;

import io.s3cache.testing.data.PageCache;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code s3cache bench --profile DIR}: the big file read twice by dd through daemons started with
 * JDK Flight Recorder ({@code S3CACHE_JAVA_OPTS=-XX:StartFlightRecording=...}): cold (empty cache),
 * then, after a restart over the same cache dir (RAM tier empty, disk tier full), warm from disk.
 * Each recording is dumped when its daemon exits; the execution samples are put into stages by
 * {@link JfrStages} and printed beside the daemon's CPU seconds for the read.
 */
final class ProfileRun {

  private final URI endpoint;
  private final String bucket;
  private final String ramCache;
  private final String diskCache;
  private final Path work;
  private final Path dir;
  private final String javaOpts;
  private final PrintStream out;

  ProfileRun(URI endpoint, String bucket, String ramCache, String diskCache, Path work, Path dir, String javaOpts,
      PrintStream out) {
    this.javaOpts = javaOpts;
    this.endpoint = endpoint;
    this.bucket = bucket;
    this.ramCache = ramCache;
    this.diskCache = diskCache;
    this.work = work;
    this.dir = dir;
    this.out = out;
  }

  void run() throws Exception {
    Files.createDirectories(dir);
    List<String> names = List.of("cold", "warm from disk");
    List<Map<JfrStages.Stage, Long>> columns = new ArrayList<>();
    List<Double> cpu = new ArrayList<>();
    List<Double> rates = new ArrayList<>();
    for (String name : names) {
      Path jfr = dir.resolve(name.startsWith("cold") ? "cold.jfr" : "warm-disk.jfr").toAbsolutePath();
      Files.deleteIfExists(jfr);
      String opts = "-XX:StartFlightRecording=filename=" + jfr + ",settings=profile,dumponexit=true";
      out.printf("profiling a %s read with JFR (%s) ...%n", name, jfr);
      try (DaemonProcess d = DaemonProcess.mount(endpoint, bucket, work.resolve("s3cache-profile"),
          new DaemonProcess.Config(ramCache, diskCache, "indefinite", UserBenchmark.join(javaOpts, opts)))) {
        PageCache.drop();
        double c0 = d.cpuSeconds();
        Measure.Result r = Measure.sequential(d.mountPoint().resolve("big.bin"));
        cpu.add(d.cpuSeconds() - c0);
        rates.add(r.mbPerSecond());
        // The daemon's own recording, now: the CLI that started it ran with the same options and
        // wrote its own (short) recording to this file when it exited, and the daemon's stop does
        // not reliably dump on exit. Before this, the stage table profiled the CLI.
        dump(d.pid(), jfr);
      }
      columns.add(JfrStages.read(jfr));
    }
    out.println();
    out.printf(Locale.ROOT, "CPU by stage (JFR execution samples of the whole daemon run; CPU-s = share x the daemon's "
        + "CPU during the read): cold %.0f MB/s, %.2f CPU-s; warm from disk %.0f MB/s, %.2f CPU-s%n%n",
        rates.get(0), cpu.get(0), rates.get(1), cpu.get(1));
    out.print(JfrStages.format(names, columns, cpu));
  }

  private static void dump(long pid, Path jfr) throws IOException, InterruptedException {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid), "JFR.dump", "filename=" + jfr)
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IOException("jcmd " + pid + " JFR.dump did not write " + jfr);
    }
  }
}