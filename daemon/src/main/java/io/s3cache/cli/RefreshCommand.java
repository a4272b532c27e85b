package io.s3cache.cli;

import io.s3cache.control.ControlClient;
import io.s3cache.control.RefreshRequest;
import io.s3cache.control.RefreshResult;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * {@code s3cache refresh PATH...}: re-lists mounted paths now, for mounts whose {@code
 * metadata_ttl} is long or {@code indefinite}.
 */
@Command(mixinStandardHelpOptions = true, name = "refresh",
    description = "Forget cached metadata of mounted paths and ask S3 again (new, replaced and deleted objects show at once).")
final class RefreshCommand implements Callable<Integer> {

  @Mixin SocketOption socket;

  @Parameters(paramLabel = "PATH", arity = "1..*", description = "Paths inside s3cache mounts (a mount point for its whole tree)")
  List<String> paths;

  @Override
  public Integer call() throws Exception {
    try (ControlClient client = socket.connect()) {
      RefreshResult r = client.refresh(new RefreshRequest(paths.stream().map(CliPaths::absolute).toList()));
      System.out.printf("refreshed %d path%s (%d cached entries dropped)%n", r.paths(), r.paths() == 1 ? "" : "s",
          r.dropped());
      if (!r.kernelNotified()) {
        System.out.println("note: the kernel keeps its cached entries until their timeouts (metadata_ttl) run out");
      }
      return 0;
    }
  }
}
