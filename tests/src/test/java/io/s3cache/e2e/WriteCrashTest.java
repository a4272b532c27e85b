package io.s3cache.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.s3cache.embedded.EmbeddedS3Server;
import io.s3cache.embedded.FaultInjectingProxy;
import io.s3cache.embedded.FaultInjectingProxy.Fault;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;

/**
 * A daemon process killed with SIGKILL while a closed checkpoint is being uploaded (its completion
 * held by {@link FaultInjectingProxy}) and while another file is still open for writing:
 * the restarted daemon uploads the closed one before the mount goes live, byte-exact, and sets the
 * unfinished one aside under {@code staging/incomplete/} without uploading it (docs/SEMANTICS.md).
 */
@Timeout(300)
class WriteCrashTest {

  private static final long MIB = 1 << 20;
  private static final String BUCKET = "crashwrite";

  @TempDir Path dir;

  @Test
  void aCrashMidUploadIsRecoveredAtRestartAndAnUnclosedFileIsSetAside() throws Exception {
    try (EmbeddedS3Server server = EmbeddedS3Server.start(Files.createDirectories(dir.resolve("s3")));
        FaultInjectingProxy proxy = FaultInjectingProxy.start(server.endpoint())) {
      server.createBucket(BUCKET);
      Path cache = dir.resolve("cache");
      Map<String, String> settings = Map.of(
          "endpoint", proxy.endpoint().toString(), "path_style", "true",
          "cache_dir", cache.toString(), "ram_cache", "64M", "disk_cache", "512M",
          "multipart_threshold", "8M", "upload_part_size", "5M", "upload_threads", "2");
      Path src = dir.resolve("model.src");
      WriteMountTest.randomFile(src, 30 * MIB + 7, 11);
      Path mnt = dir.resolve("mnt");

      // The first completion of a multipart upload is never answered (nor forwarded): cp's close
      // waits on it until the kill. Parts may go up while cp writes; only close completes.
      proxy.enqueueFor(l -> l.startsWith("POST ") && l.contains("uploadId="), Fault.STALL, 1);

      DaemonProcess first = DaemonProcess.start(dir, server, settings, "-Xmx256m");
      Process cp;
      FileChannel unfinished;
      try {
        first.mount("s3://" + BUCKET, mnt, Map.of(), List.of("rw"));
        unfinished = FileChannel.open(mnt.resolve("open.bin"), StandardOpenOption.CREATE_NEW,
            StandardOpenOption.WRITE);
        unfinished.write(ByteBuffer.wrap(new byte[(int) MIB]));
        // Starting cp closes this JVM's inherited descriptors in the child, and every close of a
        // descriptor is a flush: open.bin may be uploaded as it is now. What is written after that
        // is only staged (journal state OPEN again) when the kill comes.
        cp = new ProcessBuilder("cp", src.toString(), mnt.resolve("model.bin").toString())
            .redirectErrorStream(true).start();
        // cp has written everything and its close(2) waits for the completion of the upload.
        for (long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(120); proxy.injected(Fault.STALL) == 0; ) {
          assertTrue(cp.isAlive(), "cp ended before its upload completed");
          assertTrue(System.nanoTime() < end, "no completion was sent within 120 s");
          Thread.sleep(20);
        }
        unfinished.write(ByteBuffer.wrap(new byte[(int) MIB]));
        long pid = first.pid();
        first.kill(); // SIGKILL: a signal, no fork (a fork would close, and so flush, open.bin)
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "daemon " + pid + " is dead");
      } finally {
        first.close(); // the daemon is dead: this lazily unmounts its dead mount
      }
      assertTrue(cp.waitFor(30, TimeUnit.SECONDS));
      String cpOut = new String(cp.getInputStream().readAllBytes());
      assertNotEquals(0, cp.exitValue(), "cp saw the crash: " + cpOut + "\n" + Files.readString(dir.resolve("daemon.log")));
      try {
        unfinished.close();
      } catch (IOException e) {
        // the mount under it died
      }
      assertFalse(inS3(server, "model.bin"), "the killed upload did not complete");
      assertEquals(2, count(cache.resolve("staging"), ".meta"), "both files journaled at the crash");
      Files.move(dir.resolve("daemon.log"), dir.resolve("daemon-killed.log"));

      proxy.clearQueued();
      try (DaemonProcess second = DaemonProcess.start(dir, server, settings, "-Xmx256m")) {
        second.mount("s3://" + BUCKET, mnt, Map.of(), List.of("rw"));
        // Recovery runs before the mount answers: the closed checkpoint is in S3 already.
        Path fromS3 = dir.resolve("model.s3");
        server.client().getObject(b -> b.bucket(BUCKET).key("model.bin"), fromS3);
        assertEquals(WriteMountTest.sha(src), WriteMountTest.sha(fromS3));
        assertEquals(WriteMountTest.sha(src), WriteMountTest.sha(mnt.resolve("model.bin")));
        assertTrue(!inS3(server, "open.bin") || server.client().headObject(b -> b.bucket(BUCKET).key("open.bin"))
            .contentLength() < 2 * MIB, "what was written after the last close is not uploaded");
        Path incomplete = cache.resolve("staging").resolve("incomplete");
        assertEquals(1, count(incomplete, ".data"), "set aside for the user");
        try (Stream<Path> set = Files.list(incomplete)) {
          Path data = set.filter(p -> p.toString().endsWith(".data")).findFirst().orElseThrow();
          assertEquals(2 * MIB, Files.size(data), "with every byte written before the crash");
        }
        String log = Files.readString(second.log);
        assertTrue(log.contains("s3://" + BUCKET + "/open.bin") && log.contains("may be incomplete"), log);
        assertTrue(log.contains("s3://" + BUCKET + "/model.bin") && log.contains("left staged by an earlier run"), log);
        // Its parts went up while cp wrote: the multipart upload the kill cut short was aborted first.
        assertTrue(log.contains("aborted the incomplete multipart upload"), log);
      }
    }
  }

  private static boolean inS3(EmbeddedS3Server server, String key) {
    try {
      server.client().headObject(b -> b.bucket(BUCKET).key(key));
      return true;
    } catch (NoSuchKeyException e) {
      return false;
    }
  }

  private static long count(Path dir, String suffix) throws IOException {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.toString().endsWith(suffix)).count();
    }
  }
}
