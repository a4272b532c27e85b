package io.s3cache.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class FloorReferenceTest {

  private static final String FUSE3 = "FUSE floor (C, libfuse3, from memory)";
  private static final String DIRECT = "FUSE floor (C, libfuse3 direct_io, from memory)";

  @Test
  void floorRowsShowTheRatioToTheFloorOrWhyItIsMissing() {
    FloorReference.Figures measured = new FloorReference.Figures(FloorReference.LIBFUSE2, 2500, 4000, Double.NaN, null);
    FloorReference.Figures missing = FloorReference.Figures.missing(FloorReference.LIBFUSE2, FuseFloor.NEEDS_FUSE2);
    RatioTable t = new RatioTable();
    t.add("warm seq", 2000, "MB/s", measured.seq(), measured.reference(measured.seq()), RatioTable.Goal.atLeast(0.9));
    t.add("warm seq", 2000, "MB/s", missing.seq(), missing.reference(missing.seq()), RatioTable.Goal.atLeast(0.9));
    t.add("re-read", 5000, "MB/s", measured.cached(), measured.reference(measured.cached()),
        RatioTable.Goal.atLeast(0.9));
    String[] lines = t.format().split("\n");
    assertEquals("| warm seq | 2,000 MB/s | 2,500 MB/s FUSE floor (C, libfuse2, from memory) | 0.80x | >= 0.90x | NO |",
        lines[2]);
    assertEquals("| warm seq | 2,000 MB/s | not measured (needs gcc and libfuse-dev: S3CACHE_WITH_PEERS=1 "
        + "bin/install-deps) | - | >= 0.90x | n/a |", lines[3]);
    assertEquals("| re-read | 5,000 MB/s | not measured | - | >= 0.90x | n/a |", lines[4]);
  }

  @Test
  void notesGiveTheLibfuse3FiguresAndEachFloorOverLocalDisk() {
    FloorReference floor = new FloorReference(
        new FloorReference.Figures(FloorReference.LIBFUSE2, 2500, 4000, 6000, null),
        new FloorReference.Figures(FUSE3, 2600, 4100, 6100, null),
        new FloorReference.Figures(DIRECT, 4800, Double.NaN, Double.NaN, null));
    assertEquals(List.of(
        FloorReference.LIBFUSE2 + ": warm dd 2,500 MB/s, warm shuffled small files 4,000 files/s, page-cache re-read "
            + "6,000 MB/s",
        FUSE3 + ": warm dd 2,600 MB/s, warm shuffled small files 4,100 files/s, page-cache re-read 6,100 MB/s",
        DIRECT + ": warm dd 4,800 MB/s",
        "local disk, the same readers: warm dd 5,000 MB/s, warm shuffled small files 5,000 files/s, page-cache "
            + "re-read 8,000 MB/s",
        "FUSE floor ÷ local disk (what FUSE itself leaves of local disk, same readers): libfuse2 warm dd 0.50x, "
            + "warm small files 0.80x, page-cache re-read 0.75x; libfuse3 warm dd 0.52x, warm small files 0.82x, "
            + "page-cache re-read 0.76x; libfuse3 direct_io warm dd 0.96x"),
        floor.notes(5000, 5000, 8000));
  }

  @Test
  void missingFloorsAndUnmeasuredLocalFiguresAreLeftOutOfTheRatios() {
    FloorReference floor = new FloorReference(
        new FloorReference.Figures(FloorReference.LIBFUSE2, 2500, Double.NaN, Double.NaN, null),
        FloorReference.Figures.missing(FUSE3, FuseFloor.NEEDS_FUSE3),
        FloorReference.Figures.missing(DIRECT, FuseFloor.NEEDS_FUSE3));
    assertEquals(List.of(FloorReference.LIBFUSE2 + ": warm dd 2,500 MB/s", FUSE3 + ": " + FuseFloor.NEEDS_FUSE3,
        DIRECT + ": " + FuseFloor.NEEDS_FUSE3, "local disk, the same readers: warm dd 5,000 MB/s, page-cache re-read "
            + "8,000 MB/s",
        "FUSE floor ÷ local disk (what FUSE itself leaves of local disk, same readers): libfuse2 warm dd 0.50x"),
        floor.notes(5000, Double.NaN, 8000));
    FloorReference none = new FloorReference(FloorReference.Figures.missing(FloorReference.LIBFUSE2,
        FuseFloor.NEEDS_FUSE2), FloorReference.Figures.missing(FUSE3, FuseFloor.NEEDS_FUSE3),
        FloorReference.Figures.missing(DIRECT, FuseFloor.NEEDS_FUSE3));
    assertEquals(4, none.notes(5000, 5000, 8000).size(), "three reasons and local disk, no ratio note");
  }
}
