package io.s3cache.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.s3cache.config.ConfigException;
import io.s3cache.config.LogLevelSpec;
import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 15 item 3: the log fallback was the fixed name /tmp/s3cache-logs/s3cache.log, which another
 * user could pre-create with a symlink to make root append to any file.
 */
class LogSetupTest {

  @TempDir Path dir;

  @Test
  void fallbackIsAFreshPrivateDirectoryNotAFixedName() throws Exception {
    Path blocker = Files.writeString(dir.resolve("a-file"), "x");
    Settings settings = new Settings().set(SettingKey.CACHE_DIR, blocker.resolve("cache").toString());
    Path first = LogSetup.file(settings);
    Path second = LogSetup.file(settings);
    try {
      assertNotEquals(Path.of(System.getProperty("java.io.tmpdir"), "s3cache-logs"), first.getParent());
      assertNotEquals(first.getParent(), second.getParent(), "a name nobody can choose in advance");
      assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(first.getParent())));
    } finally {
      Files.deleteIfExists(first.getParent());
      Files.deleteIfExists(second.getParent());
    }
  }

  @Test
  void aSymlinkAtTheLogFileIsRefusedAndTheTargetUntouched() throws Exception {
    Path target = Files.writeString(dir.resolve("victim"), "untouched");
    Path log = dir.resolve("logs/s3cache.log");
    Files.createDirectories(log.getParent());
    Files.createSymbolicLink(log, target);
    ConfigException e = assertThrows(ConfigException.class,
        () -> LogSetup.configure(LogTarget.FILE, LogLevelSpec.parse("info"), log));
    assertTrue(e.getMessage().contains("is a symbolic link"), e.getMessage());
    assertEquals("untouched", Files.readString(target));
    LogSetup.configure(LogTarget.CONSOLE, LogLevelSpec.parse("info"), null);
  }

  @Test
  void aNewLogFileIsOwnerOnly() throws Exception {
    Path log = dir.resolve("logs/s3cache.log");
    LogSetup.configure(LogTarget.FILE, LogLevelSpec.parse("info"), log);
    try {
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(log)));
      assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(log.getParent())));
      assertFalse(Files.isSymbolicLink(log));
    } finally {
      LogSetup.configure(LogTarget.CONSOLE, LogLevelSpec.parse("info"), null);
    }
  }
}
