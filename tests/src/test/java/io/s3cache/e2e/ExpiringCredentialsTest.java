package io.s3cache.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.s3cache.control.ControlClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 15 item 5: credentials that expire under a long job, through {@code bin/s3cache} and its
 * daemon on real mounts. The S3 server accepts only the key pairs the test lets it, as after a
 * rotation. A mount with {@code profile} (a credential_process whose keys rotate) recovers by
 * itself; a mount with a shell's keys recovers through {@code s3cache credentials}. Meanwhile reads
 * of uncached data fail with EACCES (not EIO), cached data stays readable, the daemon logs one WARN
 * naming the mount and the fix, and /metrics counts the refusals.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ExpiringCredentialsTest {

  private static final Path S3CACHE = Path.of("..", "bin", "s3cache").toAbsolutePath().normalize();

  private Path dir;
  private Path home;
  private Path sock;
  private MountFixture fx;
  private final List<Path> mountPoints = new ArrayList<>();

  @BeforeAll
  void start(@TempDir Path tempDir) throws Exception {
    assumeTrue(Host.isRoot(), "mounts through the daemon as root");
    dir = tempDir;
    fx = new MountFixture(dir);
    fx.server.createBucket("rot");
    for (String name : List.of("a", "b", "c", "d")) {
      fx.put("rot", "data/" + name + ".txt", ("bytes of " + name + "\n").getBytes(StandardCharsets.UTF_8));
    }
    // The daemon started by the first mount has this HOME: its ~/.aws/config holds the profile.
    home = Files.createDirectories(dir.resolve("home"));
    Path aws = Files.createDirectories(home.resolve(".aws"));
    Path script = dir.resolve("issue-credentials.sh");
    Files.writeString(script, "#!/bin/sh\ncat '" + dir.resolve("current.json") + "'\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
    Files.writeString(aws.resolve("config"), "[profile rotating]\ncredential_process = " + script + "\n");
    sock = dir.resolve("creds.sock");
  }

  @AfterAll
  void stop() throws Exception {
    if (fx == null) {
      return;
    }
    try {
      Host.stopDaemons(List.of(sock), mountPoints);
    } finally {
      fx.close();
    }
  }

  /** bin/s3cache with {@code env} (and HOME, no instance metadata) and nothing else of AWS. */
  private Host.Result s3cache(Map<String, String> env, String... args) throws Exception {
    Map<String, String> all = new HashMap<>(Map.of("HOME", home.toString(), "AWS_EC2_METADATA_DISABLED", "true"));
    all.putAll(env);
    List<String> cmd = new ArrayList<>(List.of(S3CACHE.toString()));
    cmd.addAll(List.of(args));
    return Host.run(all, 120, cmd);
  }

  private Path mount(String name, Map<String, String> env, String... extra) throws Exception {
    Path mp = Files.createDirectories(dir.resolve("mnt-" + name));
    mountPoints.add(mp);
    List<String> args = new ArrayList<>(List.of("mount", "s3://rot", mp.toString(), "--endpoint",
        fx.server.endpoint().toString(), "--path-style", "--socket", sock.toString(), "--cache-dir",
        dir.resolve("cache").toString(), "--ram-cache", "64M", "--disk-cache", "256M"));
    args.addAll(List.of(extra));
    Host.Result r = s3cache(env, args.toArray(String[]::new));
    assertEquals(0, r.exit(), r.toString());
    return mp;
  }

  /** The pair the credential_process hands out from now on, stated to last an hour. */
  private void issue(String id) throws Exception {
    Files.writeString(dir.resolve("current.json"), "{\"Version\": 1, \"AccessKeyId\": \"" + id
        + "\", \"SecretAccessKey\": \"secret-" + id + "\", \"Expiration\": \"" + Instant.now().plusSeconds(3600) + "\"}\n");
  }

  /** A read of data that is not cached, with refused credentials: EACCES, not EIO. */
  private static void assertEacces(Path file) {
    java.io.IOException e = assertThrows(java.io.IOException.class, () -> Files.readString(file));
    assertEquals("Permission denied", e.getMessage(), "EACCES, not EIO: " + e);
  }

  private static Map<String, String> keys(String id) {
    return Map.of("AWS_ACCESS_KEY_ID", id, "AWS_SECRET_ACCESS_KEY", "secret-" + id);
  }

  private List<String> daemonWarnings(String mountPoint) throws Exception {
    List<String> lines = new ArrayList<>();
    try (Stream<Path> logs = Files.list(dir.resolve("cache").resolve("logs"))) {
      for (Path log : logs.filter(p -> p.getFileName().toString().startsWith("s3cache.log")).toList()) {
        for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
          if (line.contains("WARN") && line.contains("mount " + mountPoint + ": S3 refused its credentials")) {
            lines.add(line);
          }
        }
      }
    }
    return lines;
  }

  private long refusedCount() throws Exception {
    try (ControlClient c = ControlClient.connect(sock)) {
      for (String line : c.metricsText().split("\n")) {
        if (line.startsWith("s3_requests_credentials_refused ")) {
          return (long) Double.parseDouble(line.substring(line.indexOf(' ') + 1).trim());
        }
      }
    }
    throw new AssertionError("/metrics has no s3_requests_credentials_refused");
  }

  @Test
  void aProfileMountRecoversByItselfAndAKeysMountThroughS3cacheCredentials() throws Exception {
    // --- a mount with -o profile=rotating: the SDK's credential_process provider
    issue("rot-1");
    fx.server.acceptKeys("rot-1", "secret-rot-1");
    Path profiled = mount("profile", Map.of(), "-o", "profile=rotating");
    assertEquals("bytes of a\n", Files.readString(profiled.resolve("data/a.txt")));
    assertEquals(4, Files.list(profiled.resolve("data")).count()); // b's metadata is now cached

    fx.server.revokeKeys("rot-1"); // rotated before the stated expiry: the provider still holds rot-1
    fx.server.acceptKeys("rot-2", "secret-rot-2");
    issue("rot-2");
    // The first GET is refused; the refusal makes the mount ask its profile again, and the read
    // goes through with the new pair (the kernel retries a failed read at once): no remount, no push.
    assertEquals("bytes of b\n", Files.readString(profiled.resolve("data/b.txt")));
    assertEquals("bytes of a\n", Files.readString(profiled.resolve("data/a.txt")), "cached data stays readable");
    assertEquals(1, daemonWarnings(profiled.toString()).size(), "one WARN for the mount, naming it");
    assertTrue(daemonWarnings(profiled.toString()).get(0).contains("s3cache credentials " + profiled));
    long refusedBefore = refusedCount();
    assertTrue(refusedBefore >= 1, "counted: " + refusedBefore);

    // --- a mount with the shell's keys: they stay what they were until s3cache credentials
    fx.server.acceptKeys("shell-1", "secret-shell-1");
    Path keyed = mount("keys", keys("shell-1"));
    assertEquals("bytes of c\n", Files.readString(keyed.resolve("data/c.txt")));
    assertEquals(4, Files.list(keyed.resolve("data")).count());
    fx.server.revokeKeys("shell-1");
    assertEacces(keyed.resolve("data/d.txt"));
    assertTrue(refusedCount() > refusedBefore);
    assertEquals(1, daemonWarnings(keyed.toString()).size());
    assertEquals("bytes of c\n", Files.readString(keyed.resolve("data/c.txt")));

    fx.server.acceptKeys("shell-2", "secret-shell-2");
    Host.Result pushed = s3cache(keys("shell-2"), "credentials", keyed.toString(), "--socket", sock.toString());
    assertEquals(0, pushed.exit(), pushed.toString());
    assertTrue(pushed.err().contains("shell-2") && !pushed.err().contains("secret-shell-2"), pushed.toString());
    assertEquals("bytes of d\n", Files.readString(keyed.resolve("data/d.txt")), "fresh keys, same mount");
    assertEquals("bytes of b\n", Files.readString(profiled.resolve("data/b.txt")), "the other mount kept its own");

    Host.Result none = s3cache(Map.of(), "credentials", keyed.toString(), "--socket", sock.toString());
    assertFalse(none.exit() == 0, none.toString());
    assertEquals(1, none.err().strip().split("\n").length, "one line: " + none);
    assertTrue(none.errLine().contains("no AWS credentials in this shell"), none.toString());
  }
}
