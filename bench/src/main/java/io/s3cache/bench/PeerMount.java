package io.s3cache.bench;

import io.s3cache.embedded.EmbeddedS3Server;
import io.s3cache.fuse.MountTable;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A FUSE server in a process of its own and its mount: a peer tool's mount of the same bucket
 * (s3fs, rclone), or the FUSE floor ({@link FuseFloor}). A peer's is read-only, each with its own disk
 * cache turned on so its warm reads are its best case, or writable with the part size and upload
 * parallelism s3cache is given. Command lines as recorded in shared/FACTS.md.
 */
final class PeerMount implements AutoCloseable {

  private final Path mountPoint;
  private final Process process;
  /** The unmount tool of the mount's libfuse: fusermount (libfuse2) or fusermount3. */
  private final String fusermount;

  private PeerMount(Path mountPoint, Process process, String fusermount) {
    this.mountPoint = mountPoint;
    this.process = process;
    this.fusermount = fusermount;
  }

  static boolean installed(String tool) {
    try {
      return new ProcessBuilder("sh", "-c", "command -v " + tool).start().waitFor() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** A read-only s3fs mount of {@code bucket} at the embedded server {@code endpoint}, with use_cache. */
  static PeerMount s3fs(URI endpoint, String bucket, Path work) throws Exception {
    Path mnt = Files.createDirectories(work.resolve("s3fs-mnt"));
    Path cache = Files.createDirectories(work.resolve("s3fs-cache"));
    List<String> cmd = List.of("s3fs", bucket, mnt.toString(), "-f",
        "-o", "url=" + endpoint, "-o", "use_path_request_style", "-o", "endpoint=" + EmbeddedS3Server.REGION,
        "-o", "passwd_file=" + writePasswd(work), "-o", "use_cache=" + cache);
    return start(cmd, mnt, work.resolve("s3fs.log"));
  }

  static PeerMount rclone(URI endpoint, String bucket, Path work) throws Exception {
    Path mnt = Files.createDirectories(work.resolve("rclone-mnt"));
    Path conf = writeRcloneConfig(endpoint, work);
    List<String> cmd = List.of("rclone", "--config", conf.toString(), "mount", "bench:" + bucket, mnt.toString(),
        "--vfs-cache-mode", "full", "--cache-dir", work.resolve("rclone-cache").toString(), "--read-only");
    return start(cmd, mnt, work.resolve("rclone.log"));
  }

  /**
   * A writable s3fs mount: no {@code use_cache} (s3fs stages each file being written in a temp file
   * under {@code tmpdir} and uploads it at flush/fsync, in {@code multipart_size} MiB parts,
   * {@code parallel_count} at once).
   */
  static PeerMount s3fsWritable(EmbeddedS3Server server, String bucket, Path work, long partSize, int parallel)
      throws Exception {
    Path mnt = Files.createDirectories(work.resolve("s3fs-mnt"));
    Path tmp = Files.createDirectories(work.resolve("s3fs-tmp"));
    return start(s3fsWriteCommand(server.endpoint().toString(), bucket, mnt, writePasswd(work), tmp, partSize,
        parallel), mnt, work.resolve("s3fs.log"));
  }

  /** s3fs's passwd file (KEY:SECRET, mode 600) for the embedded server's credentials. */
  private static Path writePasswd(Path work) throws IOException {
    Path passwd = work.resolve("s3fs-passwd");
    Files.writeString(passwd, EmbeddedS3Server.ACCESS_KEY + ":" + EmbeddedS3Server.SECRET_KEY + "\n");
    Files.setPosixFilePermissions(passwd, PosixFilePermissions.fromString("rw-------"));
    return passwd;
  }

  static List<String> s3fsWriteCommand(String url, String bucket, Path mnt, Path passwd, Path tmp, long partSize,
      int parallel) {
    return List.of("s3fs", bucket, mnt.toString(), "-f",
        "-o", "url=" + url, "-o", "use_path_request_style", "-o", "endpoint=" + EmbeddedS3Server.REGION,
        "-o", "passwd_file=" + passwd, "-o", "tmpdir=" + tmp,
        "-o", "multipart_size=" + (partSize >> 20), "-o", "parallel_count=" + parallel);
  }

  /**
   * A writable rclone mount, {@code --vfs-cache-mode writes}: a file written is kept in the VFS
   * cache and uploaded after its close, in the background ({@code --vfs-write-back 0s}: at once,
   * not the default 5 s later), in {@code --s3-chunk-size} parts, {@code --s3-upload-concurrency}
   * at once.
   */
  static PeerMount rcloneWritable(EmbeddedS3Server server, String bucket, Path work, long partSize, int parallel)
      throws Exception {
    Path mnt = Files.createDirectories(work.resolve("rclone-mnt"));
    Path conf = writeRcloneConfig(server.endpoint(), work);
    return start(rcloneWriteCommand(conf, bucket, mnt, work.resolve("rclone-cache"), partSize, parallel), mnt,
        work.resolve("rclone.log"));
  }

  static List<String> rcloneWriteCommand(Path conf, String bucket, Path mnt, Path cache, long partSize, int parallel) {
    return List.of("rclone", "--config", conf.toString(), "mount", "bench:" + bucket, mnt.toString(),
        "--vfs-cache-mode", "writes", "--vfs-write-back", "0s", "--cache-dir", cache.toString(),
        "--s3-chunk-size", (partSize >> 20) + "M", "--s3-upload-concurrency", Integer.toString(parallel));
  }

  /** An rclone config with one remote "bench" for the embedded server (also used by rclone copy). */
  static Path writeRcloneConfig(URI endpoint, Path work) throws IOException {
    Path conf = work.resolve("rclone.conf");
    Files.writeString(conf, String.join("\n", "[bench]", "type = s3", "provider = Other",
        "endpoint = " + endpoint, "access_key_id = " + EmbeddedS3Server.ACCESS_KEY,
        "secret_access_key = " + EmbeddedS3Server.SECRET_KEY, "region = " + EmbeddedS3Server.REGION,
        "force_path_style = true", ""));
    return conf;
  }

  private static PeerMount start(List<String> cmd, Path mnt, Path log) throws Exception {
    return start(cmd, mnt, log, "fusermount", TimeUnit.SECONDS.toNanos(30));
  }

  /**
   * Starts {@code cmd}, a FUSE server in the foreground, and waits up to {@code timeoutNanos} for
   * its mount at {@code mnt}; if it does not come, the process is killed and any mount it left is
   * lazily unmounted.
   */
  static PeerMount start(List<String> cmd, Path mnt, Path log, String fusermount, long timeoutNanos)
      throws Exception {
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().remove("AWS_CA_BUNDLE");
    Process p = pb.start();
    long deadline = System.nanoTime() + timeoutNanos;
    while (!MountTable.isMounted(mnt)) {
      if (!p.isAlive() || System.nanoTime() > deadline) {
        p.destroyForcibly().waitFor();
        if (MountTable.isMounted(mnt)) { // it mounted as it was killed: leave no stray mount
          Commands.unmount(fusermount, mnt, true);
        }
        throw new IOException(cmd.get(0) + " did not mount; see " + log);
      }
      Thread.sleep(50); // another process: the mount table is the only signal
    }
    return new PeerMount(mnt, p, fusermount);
  }

  Path mountPoint() {
    return mountPoint;
  }

  /** The tool's process (s3fs and rclone run in the foreground here), for its CPU time. */
  long pid() {
    return process.pid();
  }

  @Override
  public void close() throws Exception {
    Commands.unmount(fusermount, mountPoint, false);
    if (MountTable.isMounted(mountPoint)) {
      Commands.unmount(fusermount, mountPoint, true);
    }
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
    }
  }
}
