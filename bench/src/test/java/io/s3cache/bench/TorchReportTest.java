package io.s3cache.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.s3cache.bench.TorchReader.Epoch;
import io.s3cache.s3.RequestCounts;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TorchReportTest {

  private static final TorchBenchmark.Options OPTIONS = new TorchBenchmark.Options(Path.of("/w"), 100, 2, 64, 20, 2,
      List.of("s3fs"), Set.copyOf(TorchBenchmark.GROUPS), "none", Path.of("/usr/bin/python3"), 1,
      "bin/s3cache bench-torch --images 100");

  @Test
  void targetsAreEpochTimeRatiosAgainstTheirReferences() {
    Map<String, List<Epoch>> epochs = new LinkedHashMap<>();
    epochs.put(TorchBenchmark.LOCAL, List.of(epoch(TorchBenchmark.LOCAL, -1, 1, 10), epoch(TorchBenchmark.LOCAL, -1, 2,
        10)));
    epochs.put(TorchBenchmark.NO_PLAN, List.of(epoch(TorchBenchmark.NO_PLAN, -1, 1, 40)));
    epochs.put(TorchBenchmark.PLAN, List.of(epoch(TorchBenchmark.PLAN, -1, 1, 11), epoch(TorchBenchmark.PLAN, -1, 2,
        10.6)));
    epochs.put(TorchBenchmark.DDP_LOCAL, List.of(epoch(TorchBenchmark.DDP_LOCAL, 0, 1, 6),
        epoch(TorchBenchmark.DDP_LOCAL, 1, 1, 6)));
    epochs.put(TorchBenchmark.DDP_PLAN, List.of(epoch(TorchBenchmark.DDP_PLAN, 0, 1, 7),
        epoch(TorchBenchmark.DDP_PLAN, 1, 1, 9)));
    String[] lines = table(epochs).format().split("\n");
    assertEquals("| cold epoch, s3cache + EpochPlanSampler (fresh daemon, empty cache) | 11.0 s | 10.0 s local disk "
        + "| 1.10x | <= 1.20x | yes |", lines[2]);
    assertEquals("| cold epoch, s3cache without a plan | 40.0 s | 11.0 s s3cache cold + EpochPlanSampler | 3.64x "
        + "| >= 3.00x | yes |", lines[3]);
    assertEquals("| epoch 2, s3cache + EpochPlanSampler (same daemon, page cache dropped) | 10.6 s | 10.0 s local "
        + "disk epoch 2 | 1.06x | <= 1.05x | NO |", lines[4]);
    assertTrue(lines[5].contains("rank 0, cold epoch with plans | 7.00 s | 6.00 s its local-disk epoch | 1.17x"),
        lines[5]);
    assertTrue(lines[6].contains("rank 1, cold epoch with plans | 9.00 s | 6.00 s its local-disk epoch | 1.50x"),
        lines[6]);
    assertEquals(7, lines.length);
  }

  @Test
  void aReferenceLeftOutReadsNotApplicable() {
    Map<String, List<Epoch>> epochs = new LinkedHashMap<>();
    epochs.put(TorchBenchmark.PLAN, List.of(epoch(TorchBenchmark.PLAN, -1, 1, 11)));
    String[] lines = table(epochs).format().split("\n");
    assertEquals("| cold epoch, s3cache + EpochPlanSampler (fresh daemon, empty cache) | 11.0 s | not measured "
        + "(local disk: see --only) | - | <= 1.20x | n/a |", lines[2]);
    assertEquals(3, lines.length);
  }

  @Test
  void reportShowsEpochTwoWaitsRequestsPeersAndTheCommand() {
    Map<String, List<Epoch>> epochs = new LinkedHashMap<>();
    epochs.put(TorchBenchmark.LOCAL, List.of(epoch(TorchBenchmark.LOCAL, -1, 1, 10), epoch(TorchBenchmark.LOCAL, -1, 2,
        10)));
    epochs.put(TorchBenchmark.PLAN, List.of(epoch(TorchBenchmark.PLAN, -1, 1, 11), new Epoch(TorchBenchmark.PLAN, -1,
        2, 10.2, 100, 0.125, 0.3, 0, 0, 10, new TorchReader.Plan("p2", "finished", 0L, 3L, 97L))));
    epochs.put("s3fs", List.of(epoch("s3fs", -1, 1, 55)));
    Map<String, RequestCounts> requests = Map.of(TorchBenchmark.PLAN, new RequestCounts(100, 0, 12, 0, 0, 0, 1));
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    new TorchReport(OPTIONS, epochs, requests, Map.of(TorchBenchmark.PLAN, 4.25),
        Map.of(TorchBenchmark.PLAN, new double[] {30.5, 2.25}), new ArrayList<>(), new RatioTable())
        .print(new PrintStream(bytes, true, StandardCharsets.UTF_8), "abc123");
    String report = bytes.toString(StandardCharsets.UTF_8);
    assertTrue(report.contains("| s3cache, EpochPlanSampler | 2 | - | 10.20 s | 10 | 0.125 s | 0.300 s | 0 | 0 in 10 "
        + "| 0 / 3 / 97 |"), report);
    assertTrue(report.contains("- epoch 2 with the plan: first batch after 0.125 s (local disk epoch 2: 0.500 s); the "
        + "daemon made 0 GETs during its first 10 batches and 0 in the whole epoch; its plan (p2, finished): "
        + "onDemandGets 0, prefetchedBlocks 3, alreadyCachedBlocks 97"), report);
    assertTrue(report.contains("| s3cache, EpochPlanSampler | 100 | 0 | 12 | 1 | 4.3 |"), report);
    assertTrue(report.contains("| s3cache, EpochPlanSampler | 30.5 | 4.3 | 2.3 | 37.0 | 21.2 s | 1.75 |"), report);
    assertTrue(report.contains("- s3fs cold epoch: 55.00 s, 2 files/s (5.00x the epoch time of s3cache cold + "
        + "EpochPlanSampler)"), report);
    assertTrue(report.endsWith("command: bin/s3cache bench-torch --images 100\ncommit: abc123\n"), report);
  }

  @Test
  void groupsAreCheckedAndAllMeansEvery() {
    assertEquals(Set.copyOf(TorchBenchmark.GROUPS), TorchBenchmark.groups(List.of("all")));
    assertEquals(List.of("plan", "local"), List.copyOf(TorchBenchmark.groups(List.of("plan", "local"))));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TorchBenchmark.groups(List.of("plan", "cold")));
    assertTrue(e.getMessage().contains("unknown row group 'cold'"), e.getMessage());
  }

  private static RatioTable table(Map<String, List<Epoch>> epochs) {
    RatioTable t = new RatioTable();
    new TorchReport(OPTIONS, epochs, Map.of(), Map.of(), Map.of(), new ArrayList<>(), t).targets();
    return t;
  }

  private static Epoch epoch(String row, int rank, int epoch, double seconds) {
    return new Epoch(row, rank, epoch, seconds, 100, 0.5, 0.5, -1, -1, 10, null);
  }
}
