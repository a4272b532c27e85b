package io.s3cache.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.s3cache.bench.JfrStages.Stage;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JfrStagesTest {

  private static final String FUSE = "ru.serce.jnrfuse.AbstractFuseFS.read";
  private static final String TIER = "io.s3cache.cache.TieredBlockCache.read";

  @Test
  void socketReadUnderTheFuseCallbackIsHttpClient() {
    assertEquals(Stage.HTTP_CLIENT, JfrStages.classify(List.of("sun.nio.ch.NioSocketImpl.read",
        "org.apache.http.impl.io.SessionInputBufferImpl.fillBuffer", TIER, FUSE)));
  }

  @Test
  void copyInsideTheHttpClientIsCopy() {
    assertEquals(Stage.COPY, JfrStages.classify(List.of("java.lang.System.arraycopy",
        "org.apache.http.impl.io.ContentLengthInputStream.read", TIER)));
    assertEquals(Stage.COPY, JfrStages.classify(List.of("java.nio.DirectByteBuffer.put", TIER, FUSE)));
  }

  @Test
  void diskReadWriteAndChecksumByTheirJdkFrames() {
    assertEquals(Stage.DISK_READ, JfrStages.classify(List.of("sun.nio.ch.FileDispatcherImpl.pread0",
        "sun.nio.ch.FileChannelImpl.read", "io.s3cache.cache.DiskTier.read", FUSE)));
    assertEquals(Stage.DISK_WRITE, JfrStages.classify(List.of("sun.nio.ch.FileDispatcherImpl.pwrite0",
        "io.s3cache.cache.DiskWriter.run")));
    assertEquals(Stage.CHECKSUM, JfrStages.classify(List.of("java.util.zip.CRC32C.updateDirectByteBuffer",
        "io.s3cache.cache.BlockFile.verify", FUSE)));
  }

  @Test
  void signingBeatsTheHttpClientAroundIt() {
    assertEquals(Stage.SIGNING, JfrStages.classify(List.of("javax.crypto.Mac.doFinal",
        "software.amazon.awssdk.http.auth.aws.internal.signer.DefaultV4RequestSigner.sign",
        "software.amazon.awssdk.http.apache.ApacheHttpClient.execute")));
  }

  @Test
  void cacheCodeIsTierLookupAndCallbackCodeIsFuseOtherwiseOther() {
    assertEquals(Stage.TIER_LOOKUP, JfrStages.classify(List.of("java.util.HashMap.get",
        "io.s3cache.cache.MemoryTier.get", TIER, FUSE)));
    assertEquals(Stage.FUSE, JfrStages.classify(List.of("jnr.ffi.provider.jffi.NativeClosureProxy.invoke")));
    assertEquals(Stage.OTHER, JfrStages.classify(List.of("java.lang.Thread.run")));
    assertEquals(Stage.OTHER, JfrStages.classify(List.of()));
  }

  @Test
  void formatShowsSharesAndCpuSeconds() {
    Map<Stage, Long> c = new EnumMap<>(Stage.class);
    for (Stage s : Stage.values()) {
      c.put(s, 0L);
    }
    c.put(Stage.HTTP_CLIENT, 3L);
    c.put(Stage.COPY, 1L);
    String t = JfrStages.format(List.of("cold"), List.of(c), List.of(2.0));
    assertTrue(t.contains("| HTTP client | 75.0% (1.50 CPU-s) |"), t);
    assertTrue(t.contains("| copy | 25.0% (0.50 CPU-s) |"), t);
    assertTrue(t.endsWith("| samples | 4 |\n"), t);
  }
}
