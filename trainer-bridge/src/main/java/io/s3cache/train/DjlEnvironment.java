package io.s3cache.train;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Makes DJL work offline from the jars on the class path: offline mode on (it never downloads; the
 * PyTorch native library comes from the pytorch-native-cpu jar), and a stable cache directory for
 * the 432 MB the native jar extracts, so it is extracted once per machine: {@code DJL_CACHE_DIR}
 * when set (environment or system property), else {@code /var/cache/s3cache-djl} when writable,
 * else {@code $TMPDIR/s3cache-djl}.
 */
public final class DjlEnvironment {

  public static final Path DEFAULT_CACHE = Path.of("/var/cache/s3cache-djl");

  private DjlEnvironment() {}

  public static synchronized void configure() {
    if (System.getProperty("ai.djl.offline") == null && System.getenv("DJL_OFFLINE") == null) {
      System.setProperty("ai.djl.offline", "true");
    }
    if (System.getProperty("DJL_CACHE_DIR") == null && System.getenv("DJL_CACHE_DIR") == null) {
      Path dir = DEFAULT_CACHE;
      try {
        Files.createDirectories(dir);
        if (!Files.isWritable(dir)) {
          dir = fallback();
        }
      } catch (Exception e) {
        dir = fallback();
      }
      System.setProperty("DJL_CACHE_DIR", dir.toString());
    }
  }

  private static Path fallback() {
    return Path.of(System.getProperty("java.io.tmpdir"), "s3cache-djl");
  }
}
