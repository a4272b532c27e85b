package io.s3cache.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The FUSE floor's figures in one run, read with exactly the readers and page-cache drops of
 * s3cache's {@code warm} and {@code fit} rows: {@code floorfs} over the local copy of the data set,
 * built against libfuse2 (s3cache's own library: the table's reference), against libfuse3 (a note),
 * and on libfuse3 with {@code direct_io} (a note: no page cache fill at all).
 */
final class FloorReference {

  /** The reference name of the table's floor rows. */
  static final String LIBFUSE2 = "FUSE floor (C, libfuse2, from memory)";

  /**
   * One floorfs's figures, NaN where not measured: {@code dd} of the big file after a drop, the
   * shuffled small files after a drop (files/s), the page-cache re-read; {@code reason} says why
   * nothing was measured (null when something was).
   */
  record Figures(String name, double seq, double small, double cached, String reason) {
    static Figures missing(String name, String reason) {
      return new Figures(name, Double.NaN, Double.NaN, Double.NaN, reason);
    }

    /** The reference name of a row against {@code figure}: the floor's name, or why it is missing. */
    String reference(double figure) {
      return reason != null ? reason : Double.isNaN(figure) ? "not measured" : name;
    }
  }

  final Figures fuse2;
  final Figures fuse3;
  final Figures fuse3Direct;

  FloorReference(Figures fuse2, Figures fuse3, Figures fuse3Direct) {
    this.fuse2 = fuse2;
    this.fuse3 = fuse3;
    this.fuse3Direct = fuse3Direct;
  }

  /**
   * Builds floorfs in {@code dir} and measures each floor over {@code data}'s local root, one mount
   * at a time: dd best of {@code repeat}, then (page cache) the re-read best of {@code repeat} if
   * {@code cached}, then the small files best of {@code repeat} if {@code small}.
   */
  static FloorReference measure(BenchData data, Path dir, int repeat, boolean small, boolean cached, PrintStream out)
      throws Exception {
    FuseFloor.Build b2 = FuseFloor.build(FuseFloor.Lib.FUSE2, dir);
    FuseFloor.Build b3 = FuseFloor.build(FuseFloor.Lib.FUSE3, dir);
    out.printf("FUSE floor: floorfs (C, from memory) over %s: libfuse2 %s, libfuse3 %s%n", data.localRoot,
        b2.ok() ? "built" : b2.reason(), b3.ok() ? "built" : b3.reason());
    return new FloorReference(
        one(b2, LIBFUSE2, false, data, dir, repeat, small, cached),
        one(b3, "FUSE floor (C, libfuse3, from memory)", false, data, dir, repeat, small, cached),
        one(b3, "FUSE floor (C, libfuse3 direct_io, from memory)", true, data, dir, repeat, false, false));
  }

  private static Figures one(FuseFloor.Build build, String name, boolean directIo, BenchData data, Path dir,
      int repeat, boolean small, boolean cached) throws Exception {
    if (!build.ok()) {
      return Figures.missing(name, build.reason());
    }
    try (PeerMount m = FuseFloor.mount(build, data.localRoot, dir, directIo)) {
      Path big = m.mountPoint().resolve("big.bin");
      Measure.Result seq = Measure.best(repeat, () -> Measure.dropped(() -> Measure.sequential(big)));
      // The last dropped read filled the page cache, which kernel_cache keeps across opens (as
      // s3cache's keep_cache does for an unchanged object).
      Measure.Result c = cached ? Measure.best(repeat, () -> Measure.sequential(big)) : null;
      Measure.Result s = small
          ? Measure.best(repeat, () -> Measure.dropped(() -> Measure.files(data.shuffledSmall(m.mountPoint()))))
          : null;
      return new Figures(name, seq.mbPerSecond(), s == null ? Double.NaN : s.filesPerSecond(),
          c == null ? Double.NaN : c.mbPerSecond(), null);
    } catch (IOException e) { // a floor that fails to mount or read is a missing reference, not a failed run
      return Figures.missing(name, "not measured (floorfs failed: " + e.getMessage() + ")");
    }
  }

  /**
   * The notes: each floor's figures and local disk's, then each floor ÷ local disk (NaN figures, not
   * measured in this run, are left out), so a reader sees what FUSE itself leaves of local disk.
   */
  List<String> notes(double localSeq, double localSmall, double localCached) {
    List<String> notes = new ArrayList<>();
    for (Figures f : List.of(fuse2, fuse3, fuse3Direct)) {
      notes.add(f.name() + ": " + (f.reason() != null ? f.reason() : figures(f)));
    }
    String local = figures(new Figures("local disk", localSeq, localSmall, localCached, null));
    if (!local.isEmpty()) {
      notes.add("local disk, the same readers: " + local);
    }
    StringBuilder ratios = new StringBuilder();
    for (Figures f : List.of(fuse2, fuse3, fuse3Direct)) {
      String r = ratios(f, localSeq, localSmall, localCached);
      if (!r.isEmpty()) {
        ratios.append(ratios.length() == 0 ? "" : "; ").append(f.name().replace("FUSE floor (C, ", "")
            .replace(", from memory)", "")).append(' ').append(r);
      }
    }
    if (ratios.length() > 0) {
      notes.add("FUSE floor ÷ local disk (what FUSE itself leaves of local disk, same readers): " + ratios);
    }
    return notes;
  }

  private static String figures(Figures f) {
    List<String> parts = new ArrayList<>();
    if (!Double.isNaN(f.seq())) {
      parts.add("warm dd " + RatioTable.number(f.seq()) + " MB/s");
    }
    if (!Double.isNaN(f.small())) {
      parts.add("warm shuffled small files " + RatioTable.number(f.small()) + " files/s");
    }
    if (!Double.isNaN(f.cached())) {
      parts.add("page-cache re-read " + RatioTable.number(f.cached()) + " MB/s");
    }
    return String.join(", ", parts);
  }

  private static String ratios(Figures f, double localSeq, double localSmall, double localCached) {
    List<String> parts = new ArrayList<>();
    ratio(parts, "warm dd", f.seq(), localSeq);
    ratio(parts, "warm small files", f.small(), localSmall);
    ratio(parts, "page-cache re-read", f.cached(), localCached);
    return String.join(", ", parts);
  }

  private static void ratio(List<String> parts, String what, double floor, double local) {
    if (!Double.isNaN(floor) && !Double.isNaN(local)) {
      parts.add(String.format(Locale.ROOT, "%s %.2fx", what, floor / local));
    }
  }
}
