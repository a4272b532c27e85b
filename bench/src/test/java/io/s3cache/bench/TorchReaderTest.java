package io.s3cache.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.s3cache.bench.TorchReader.Epoch;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class TorchReaderTest {

  private static final TorchReader.Settings SETTINGS =
      new TorchReader.Settings(Path.of("/usr/bin/python3"), Path.of("/src"), 64, 2, 7, "none");

  @Test
  void planRunSendsSocketPlanAndRanks() {
    List<String> cmd = TorchReader.command(SETTINGS, new TorchReader.Run("DDP, s3cache", Path.of("/mnt/train"), 2,
        true, Path.of("/w/s.sock"), 2));
    assertEquals(List.of("/usr/bin/python3", "/src/python/bench/loader_epoch.py", "--root", "/mnt/train",
        "--epochs", "2", "--batch", "64", "--workers", "2", "--seed", "7", "--model", "none", "--drop-caches",
        "--row", "DDP, s3cache", "--socket", "/w/s.sock", "--plan", "--ddp", "2"), cmd);
  }

  @Test
  void theReadersCpuLineIsReadAndOtherLinesAreNot() throws Exception {
    assertEquals(41.5, TorchReader.cpuSeconds("{\"event\": \"cpu\", \"row\": \"local disk\", \"seconds\": 41.5}"));
    assertTrue(Double.isNaN(TorchReader.cpuSeconds("{\"event\": \"epoch\", \"seconds\": 3.0}")));
    assertTrue(Double.isNaN(TorchReader.cpuSeconds("listing /mnt/train")));
  }

  @Test
  void localRunHasNoDaemon() {
    List<String> cmd = TorchReader.command(SETTINGS, new TorchReader.Run("local disk", Path.of("/l"), 1, false, null,
        0));
    assertTrue(!cmd.contains("--socket") && !cmd.contains("--plan") && !cmd.contains("--ddp"), cmd.toString());
  }

  @Test
  void epochLineIsParsedWithItsPlan() throws IOException {
    Epoch e = TorchReader.parse("{\"event\":\"epoch\",\"row\":\"plan\",\"rank\":null,\"epoch\":2,\"seconds\":12.5,"
        + "\"files\":10000,\"batches\":157,\"filesPerSecond\":800.0,\"firstBatchSeconds\":0.25,"
        + "\"slowestBatchSeconds\":0.5,\"s3Gets\":0,\"s3GetsFirstBatches\":0,\"firstBatches\":10,"
        + "\"plan\":{\"id\":\"p2\",\"state\":\"finished\",\"onDemandGets\":0,\"prefetchedBlocks\":9990,"
        + "\"alreadyCachedBlocks\":10}}");
    assertEquals(new Epoch("plan", -1, 2, 12.5, 10000, 0.25, 0.5, 0, 0, 10,
        new TorchReader.Plan("p2", "finished", 0L, 9990L, 10L)), e);
    assertEquals(800.0, e.filesPerSecond(), 1e-9);
  }

  @Test
  void missingCountsReadMinusOneAndAPlanErrorIsItsState() throws IOException {
    Epoch e = TorchReader.parse("{\"event\":\"epoch\",\"row\":\"r\",\"rank\":1,\"epoch\":1,\"seconds\":1,"
        + "\"files\":5,\"firstBatchSeconds\":0.1,\"slowestBatchSeconds\":0.2,\"s3Gets\":null,"
        + "\"s3GetsFirstBatches\":null,\"firstBatches\":10,\"plan\":{\"id\":\"p1\",\"error\":\"gone (HTTP 404)\"}}");
    assertEquals(1, e.rank());
    assertEquals(-1, e.s3Gets());
    assertEquals(-1, e.getsFirstBatches());
    assertEquals(new TorchReader.Plan("p1", "gone (HTTP 404)", null, null, null), e.plan());
  }

  @Test
  void otherLinesAreNotEpochs() throws IOException {
    assertNull(TorchReader.parse("{\"event\":\"dataset\",\"files\":10}"));
    assertNull(TorchReader.parse("Traceback (most recent call last):"));
  }

  @Test
  void everyRankMustReadItsPaddedShare() throws IOException {
    TorchReader.Run ddp = new TorchReader.Run("ddp", Path.of("/l"), 1, false, null, 2);
    // 301 images over 2 ranks: DistributedSampler pads each rank's share to 151.
    TorchReader.check(ddp, List.of(epoch(0, 151), epoch(1, 151)), 301);
    IOException short1 = assertThrows(IOException.class,
        () -> TorchReader.check(ddp, List.of(epoch(0, 151), epoch(1, 150)), 301));
    assertTrue(short1.getMessage().contains("rank 1 read 150 images, expected 151"), short1.getMessage());
    assertThrows(IOException.class, () -> TorchReader.check(ddp, List.of(epoch(0, 151)), 301));
  }

  private static Epoch epoch(int rank, long files) {
    return new Epoch("ddp", rank, 1, 1.0, files, 0.1, 0.1, -1, -1, 10, null);
  }
}
