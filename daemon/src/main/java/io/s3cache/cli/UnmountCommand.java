package io.s3cache.cli;

import io.s3cache.control.ControlClient;
import io.s3cache.control.ControlException;
import io.s3cache.fuse.MountException;
import io.s3cache.fuse.MountTable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * {@code s3cache unmount MOUNTPOINT}: asks the daemon to unmount (it keeps running, as a service);
 * a mount served by a foreground process is unmounted directly and its process then exits.
 */
@Command(mixinStandardHelpOptions = true, name = "unmount", aliases = "umount", description = "Unmount an s3cache mount.")
final class UnmountCommand implements Callable<Integer> {

  @Mixin SocketOption socket;

  @Parameters(index = "0", paramLabel = "MOUNTPOINT")
  Path mountPoint;

  @Override
  public Integer call() throws Exception {
    Path mp = mountPoint.toAbsolutePath().normalize();
    MountTable.Entry entry = MountTable.find(mp)
        .orElseThrow(() -> new MountException(mp + " is not mounted"));
    if (!entry.fsType().equals("fuse.s3cache")) {
      throw new MountException(mp + " is not an s3cache mount (it is " + entry.fsType() + ")");
    }
    if (socket.tcp() || ControlClient.isAlive(socket.path())) {
      try (ControlClient client = socket.connect()) {
        client.unmount(mp.toString());
        return 0;
      } catch (ControlException e) {
        if (e.status() != 404) {
          throw new MountException(e.getMessage());
        }
        // Not the daemon's: a foreground mount. Unmount it directly.
      }
    }
    Process p = new ProcessBuilder("fusermount", "-u", mp.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new MountException("cannot unmount " + mp + ": " + (out.isEmpty() ? "fusermount failed" : out));
    }
    return 0;
  }
}
