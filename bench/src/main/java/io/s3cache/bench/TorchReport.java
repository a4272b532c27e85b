package io.s3cache.bench;

import static io.s3cache.bench.TorchBenchmark.DDP_LOCAL;
import static io.s3cache.bench.TorchBenchmark.DDP_PLAN;
import static io.s3cache.bench.TorchBenchmark.DDP_RANKS;
import static io.s3cache.bench.TorchBenchmark.LOCAL;
import static io.s3cache.bench.TorchBenchmark.NO_PLAN;
import static io.s3cache.bench.TorchBenchmark.PLAN;

import io.s3cache.bench.TorchReader.Epoch;
import io.s3cache.s3.RequestCounts;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@link TorchBenchmark}'s report: every epoch read, issue 16's targets each against its reference
 * from the same run (epoch times: s3cache ÷ reference), and the S3 requests of each s3cache row.
 */
final class TorchReport {

  private final TorchBenchmark.Options o;
  private final Map<String, List<Epoch>> epochs;
  private final Map<String, RequestCounts> requests;
  private final Map<String, Double> daemonCpu;
  private final Map<String, double[]> otherCpu;
  private final List<String> notes;
  private final RatioTable table;

  TorchReport(TorchBenchmark.Options o, Map<String, List<Epoch>> epochs, Map<String, RequestCounts> requests,
      Map<String, Double> daemonCpu, Map<String, double[]> otherCpu, List<String> notes, RatioTable table) {
    this.o = o;
    this.epochs = epochs;
    this.requests = requests;
    this.daemonCpu = daemonCpu;
    this.otherCpu = otherCpu;
    this.notes = notes;
    this.table = table;
  }

  /** Epoch {@code epoch} (from 1) of {@code row}, rank {@code rank} (-1 without DDP); null if not read. */
  Epoch find(String row, int epoch, int rank) {
    for (Epoch e : epochs.getOrDefault(row, List.of())) {
      if (e.epoch() == epoch && e.rank() == rank) {
        return e;
      }
    }
    return null;
  }

  /** Issue 16's targets, each a ratio of epoch times; a reference not measured reads n/a. */
  void targets() {
    Epoch local1 = find(LOCAL, 1, -1);
    Epoch plan1 = find(PLAN, 1, -1);
    Epoch local2 = find(LOCAL, 2, -1);
    Epoch plan2 = find(PLAN, 2, -1);
    if (plan1 != null) {
      add("cold epoch, s3cache + EpochPlanSampler (fresh daemon, empty cache)", plan1, local1, "local disk",
          RatioTable.Goal.atMost(1.2));
    }
    Epoch noPlan = find(NO_PLAN, 1, -1);
    if (noPlan != null) {
      add("cold epoch, s3cache without a plan", noPlan, plan1, "s3cache cold + EpochPlanSampler",
          RatioTable.Goal.atLeast(3));
    }
    if (plan2 != null) {
      add("epoch 2, s3cache + EpochPlanSampler (same daemon, page cache dropped)", plan2, local2,
          "local disk epoch 2", RatioTable.Goal.atMost(1.05));
    }
    for (int r = 0; r < DDP_RANKS; r++) {
      Epoch ddp = find(DDP_PLAN, 1, r);
      if (ddp != null) {
        add("DDP " + DDP_RANKS + " ranks on one mount, rank " + r + ", cold epoch with plans", ddp,
            find(DDP_LOCAL, 1, r), "its local-disk epoch", RatioTable.Goal.atMost(1.3));
      }
    }
  }

  private void add(String what, Epoch value, Epoch reference, String referenceName, RatioTable.Goal goal) {
    table.add(what, value.seconds(), "s", reference == null ? Double.NaN : reference.seconds(),
        reference == null ? "not measured (" + referenceName + ": see --only)" : referenceName, goal);
  }

  /** What epoch 2 of the plan row waited for: its first batch, and S3 during its first batches. */
  void epochTwoNote() {
    Epoch plan2 = find(PLAN, 2, -1);
    if (plan2 == null) {
      if (epochs.containsKey(PLAN)) {
        notes.add("no epoch 2 row: --epochs " + o.epochs());
      }
      return;
    }
    Epoch local2 = find(LOCAL, 2, -1);
    notes.add(String.format(Locale.ROOT, "epoch 2 with the plan: first batch after %.3f s (local disk epoch 2: %s); "
            + "the daemon made %s GETs during its first %d batches and %s in the whole epoch; its plan (%s): "
            + "onDemandGets %s, prefetchedBlocks %s, alreadyCachedBlocks %s", plan2.firstBatchSeconds(),
        local2 == null ? "n/a" : String.format(Locale.ROOT, "%.3f s", local2.firstBatchSeconds()),
        count(plan2.getsFirstBatches()), plan2.firstBatches(), count(plan2.s3Gets()),
        plan2.plan() == null ? "none" : plan2.plan().id() + ", " + plan2.plan().state(),
        plan2.plan() == null ? "n/a" : plan2.plan().onDemandGets(),
        plan2.plan() == null ? "n/a" : plan2.plan().prefetchedBlocks(),
        plan2.plan() == null ? "n/a" : plan2.plan().alreadyCachedBlocks()));
  }

  /** Each peer's cold epoch against s3cache's cold epoch with the plan (no target: for the record). */
  void peerNotes() {
    Epoch plan1 = find(PLAN, 1, -1);
    for (String peer : o.peers()) {
      Epoch e = find(peer, 1, -1);
      if (e != null) {
        notes.add(String.format(Locale.ROOT, "%s cold epoch: %.2f s, %.0f files/s%s", peer, e.seconds(),
            e.filesPerSecond(), plan1 == null ? "" : String.format(Locale.ROOT,
                " (%.2fx the epoch time of s3cache cold + EpochPlanSampler)", e.seconds() / plan1.seconds())));
      }
    }
  }

  private static String count(long n) {
    return n < 0 ? "n/a" : Long.toString(n);
  }

  void print(PrintStream out, String commit) {
    targets();
    epochTwoNote();
    peerNotes();
    out.println();
    out.printf(Locale.ROOT, "PyTorch DataLoader epochs (issue 16): %d JPEGs of ~100 KiB, ImageFolder, batch %d, "
            + "%d workers, decode + resize 64x64 + to-tensor, model %s, seed %d, +%d ms per S3 request, page cache "
            + "dropped before every epoch:%n%n", o.images(), o.batch(), o.workers(), o.model(), o.seed(),
        o.latencyMillis());
    out.println("| row | epoch | rank | time | files/s | first batch | slowest batch wait | S3 GETs (daemon) "
        + "| GETs, first batches | plan: onDemandGets / prefetchedBlocks / alreadyCached |");
    out.println("|---|---|---|---|---|---|---|---|---|---|");
    for (List<Epoch> row : epochs.values()) {
      for (Epoch e : row) {
        out.printf(Locale.ROOT, "| %s | %d | %s | %.2f s | %.0f | %.3f s | %.3f s | %s | %s | %s |%n", e.row(),
            e.epoch(), e.rank() < 0 ? "-" : Integer.toString(e.rank()), e.seconds(), e.filesPerSecond(),
            e.firstBatchSeconds(), e.slowestBatchSeconds(), e.s3Gets() < 0 ? "-" : Long.toString(e.s3Gets()),
            e.getsFirstBatches() < 0 ? "-" : e.getsFirstBatches() + " in " + e.firstBatches(),
            e.plan() == null ? "-" : e.plan().onDemandGets() + " / " + e.plan().prefetchedBlocks() + " / "
                + e.plan().alreadyCachedBlocks());
      }
    }
    out.println();
    out.println("S3 GETs: the daemon's during the epoch and during its first batches, every reader together (under DDP "
        + "both ranks) and prefetch included; plan: the epoch's plan's final figures (GET /plan?id=).");
    out.println();
    out.println("Targets (issue 16), epoch times, each against its reference measured in this run:");
    out.println();
    out.print(table.isEmpty() ? "(none: --only left out the rows they compare)\n" : table.format());
    if (!requests.isEmpty()) {
      out.println();
      out.println("S3 requests per row (the daemon's GET /stats, from the reader's start to its end, listing "
          + "included; the peers' are not counted):");
      out.println();
      out.println("| row | GET | HEAD | LIST | other | daemon CPU-s |");
      out.println("|---|---|---|---|---|---|");
      for (var e : requests.entrySet()) {
        RequestCounts r = e.getValue();
        out.printf(Locale.ROOT, "| %s | %d | %d | %d | %d | %.1f |%n", e.getKey(), r.get(), r.head(), r.list(),
            r.put() + r.copy() + r.delete() + r.other(), daemonCpu.getOrDefault(e.getKey(), Double.NaN));
      }
    }
    if (!otherCpu.isEmpty()) {
      out.println();
      out.println("CPU seconds per row, every epoch of the row together (reader: the loader's process, its "
          + "workers and DDP ranks; S3 server: S3Proxy and the latency proxy, one JVM), and what they fill of "
          + "the machine's " + Runtime.getRuntime().availableProcessors() + " cores over the row's epoch time:");
      out.println();
      out.println("| row | reader | daemon | S3 server | total | epoch time, all epochs | cores busy |");
      out.println("|---|---|---|---|---|---|---|");
      for (var e : otherCpu.entrySet()) {
        double reader = e.getValue()[0];
        double server = e.getValue()[1];
        double daemon = daemonCpu.getOrDefault(e.getKey(), 0.0);
        double total = (Double.isNaN(reader) ? 0 : reader) + daemon + (Double.isNaN(server) ? 0 : server);
        double time = wallSeconds(epochs.getOrDefault(e.getKey(), List.of()));
        out.printf(Locale.ROOT, "| %s | %.1f | %s | %.1f | %.1f | %.1f s | %.2f |%n", e.getKey(), reader,
            daemonCpu.containsKey(e.getKey()) ? String.format(Locale.ROOT, "%.1f", daemon) : "-", server, total,
            time, time > 0 ? total / time : Double.NaN);
      }
    }
    if (!notes.isEmpty()) {
      out.println();
      notes.forEach(n -> out.println("- " + n));
    }
    out.println();
    out.printf("command: %s%ncommit: %s%n", o.command(), commit);
  }

  /** The row's epochs end to end: each epoch's time (its slowest rank's), summed over epochs. */
  static double wallSeconds(List<TorchReader.Epoch> rowEpochs) {
    Map<Integer, Double> slowest = new java.util.TreeMap<>();
    for (TorchReader.Epoch e : rowEpochs) {
      slowest.merge(e.epoch(), e.seconds(), Math::max);
    }
    return slowest.values().stream().mapToDouble(Double::doubleValue).sum();
  }
}
