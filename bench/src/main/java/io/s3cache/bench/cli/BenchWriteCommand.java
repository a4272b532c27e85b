package io.s3cache.bench.cli;

import io.s3cache.bench.WriteBenchmark;
import io.s3cache.config.ByteSize;
import io.s3cache.config.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code s3cache bench-write}: a checkpoint's write to local disk, s3cache and peer tools (root only). */
@Command(mixinStandardHelpOptions = true, name = "bench-write",
    description = "Measure writing one checkpoint file through s3cache, s3fs and rclone into the same S3 server, "
        + "against local disk and the endpoint's own upload (needs root).")
final class BenchWriteCommand implements Callable<Integer> {

  @Option(names = {"--work-dir", "--work"}, defaultValue = "/var/tmp/s3cache-bench-write",
      description = "Scratch space (default ${DEFAULT-VALUE}; needs about 4x --size free)")
  Path workDir;

  @Option(names = "--size", defaultValue = "4G", description = "Size of the checkpoint file (default ${DEFAULT-VALUE})")
  String size;

  @Option(names = "--peers", split = ",", defaultValue = "s3fs,rclone",
      description = "Peer tools to measure (default ${DEFAULT-VALUE}; 'none' for none)")
  List<String> peers;

  @Option(names = "--chunk", defaultValue = "4M", description = "Bytes per write(2), dd's bs (default ${DEFAULT-VALUE})")
  String chunk;

  @Option(names = "--part-size", defaultValue = "16M",
      description = "Multipart part size for every tool (default ${DEFAULT-VALUE}, s3cache's upload_part_size default)")
  String partSize;

  @Option(names = "--upload-threads", defaultValue = "8",
      description = "Parts uploaded at once by every tool (default ${DEFAULT-VALUE}, s3cache's upload_threads default)")
  int uploadThreads;

  @Option(names = "--keep", description = "Keep the work dir afterwards")
  boolean keep;

  @Override
  public Integer call() throws Exception {
    List<String> chosen = BenchCommand.checkedPeers(peers);
    long bytes = ByteSize.parse("--size", size);
    long bs = ByteSize.parse("--chunk", chunk);
    long part = ByteSize.parse("--part-size", partSize);
    if (bytes < 1) {
      throw new ConfigException("--size must be at least 1 byte");
    }
    if (bs < 4096 || bs > (256L << 20)) {
      throw new ConfigException("--chunk must be from 4K to 256M, got " + chunk);
    }
    if (part < (5L << 20) || part % (1L << 20) != 0) {
      throw new ConfigException("--part-size must be a whole number of MiB, at least 5M (s3fs and rclone take MiB), got "
          + partSize);
    }
    if (uploadThreads < 1 || uploadThreads > 256) {
      throw new ConfigException("--upload-threads must be from 1 to 256, got " + uploadThreads);
    }
    boolean existed = Files.exists(workDir);
    try {
      new WriteBenchmark(new WriteBenchmark.Options(workDir.toAbsolutePath(), bytes, chosen, bs, part, uploadThreads),
          System.out).run();
    } finally {
      if (!keep && !existed) {
        DemoCommand.deleteTree(workDir);
      } else if (!keep) { // a directory of the user's: remove only the large things (logs stay)
        if (Files.exists(workDir.resolve("s3"))) {
          DemoCommand.deleteTree(workDir.resolve("s3"));
        }
        Files.deleteIfExists(workDir.resolve("checkpoint.bin"));
      }
    }
    return 0;
  }
}
