package io.s3cache.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ProcParsingTest {

  @Test
  void rssFromAStatusFile() {
    String status = "Name:\tjava\nVmPeak:\t 9000000 kB\nVmRSS:\t  524288 kB\nRssAnon:\t 1 kB\n";
    assertEquals(512L << 20, ProcStatus.parseRss(status));
    assertEquals(-1, ProcStatus.parseRss("Name:\tkthreadd\n"));
  }

  @Test
  void ownRssIsPositive() {
    assertTrue(ProcStatus.rssBytes(ProcessHandle.current().pid()) > 0);
  }

  @Test
  void fioJsonAfterItsWarnings() throws Exception {
    String out = "note: both iodepth >= 1 and synchronous I/O engine are selected\n"
        + "{\"jobs\":[{\"read\":{\"iops\":1234.5,\"clat_ns\":{\"percentile\":{\"99.000000\":2500000}}}}]}";
    Measure.Fio f = Measure.parseFio(out);
    assertEquals(1234.5, f.iops(), 1e-9);
    assertEquals(2.5, f.p99Millis(), 1e-9);
  }
}
