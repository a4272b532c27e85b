package io.s3cache.cli;

import io.s3cache.config.ByteSize;
import io.s3cache.control.ControlClient;
import io.s3cache.control.EvictRequest;
import io.s3cache.control.EvictResult;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code s3cache evict PATH...}: drops the cached blocks of everything under the paths. */
@Command(mixinStandardHelpOptions = true, name = "evict", description = "Drop cached blocks of mounted paths or s3:// URLs.")
final class EvictCommand implements Callable<Integer> {

  @Mixin SocketOption socket;

  @Parameters(paramLabel = "PATH", arity = "1..*", description = "Mounted paths or s3://BUCKET/PREFIX of a mounted bucket")
  List<String> paths;

  @Override
  public Integer call() throws Exception {
    try (ControlClient client = socket.connect()) {
      EvictResult r = client.evict(new EvictRequest(paths.stream().map(CliPaths::absolute).toList()));
      System.out.printf("evicted %d blocks (%s) of %d objects%n", r.blocks(), ByteSize.format(r.bytes()), r.objects());
      return 0;
    }
  }
}
