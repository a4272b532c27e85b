package io.s3cache.cli;

import io.s3cache.control.ControlClient;
import java.nio.file.Files;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code s3cache shutdown}: unmounts everything the daemon serves and stops it. */
@Command(mixinStandardHelpOptions = true, name = "shutdown", description = "Stop the s3cache daemon (unmounting everything).")
final class ShutdownCommand implements Callable<Integer> {

  @Mixin SocketOption socket;

  @Override
  public Integer call() throws Exception {
    long pid;
    try (ControlClient client = socket.connect()) {
      pid = client.health().pid();
      client.shutdown();
    }
    // Return once the daemon is gone, so a following `s3cache mount` starts a fresh one.
    ProcessHandle.of(pid).ifPresent(h -> h.onExit().orTimeout(60, TimeUnit.SECONDS).join());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!socket.tcp() && Files.exists(socket.path()) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    System.err.println("s3cache: daemon " + pid + " stopped");
    return 0;
  }
}
