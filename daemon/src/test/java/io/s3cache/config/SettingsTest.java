package io.s3cache.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SettingsTest {

  @Test
  void sizesUseBinaryUnits() {
    assertEquals(512, ByteSize.parse("k", "512"));
    assertEquals(64 * 1024, ByteSize.parse("k", "64K"));
    assertEquals(8L << 20, ByteSize.parse("k", "8MiB"));
    assertEquals(16L << 30, ByteSize.parse("k", "16g"));
    assertEquals(2L << 40, ByteSize.parse("k", "2T"));
    assertEquals("8 MiB", ByteSize.format(8L << 20));
    assertEquals("1.5 GiB", ByteSize.format(3L << 29));
  }

  @Test
  void badSizesNameTheKey() {
    ConfigException e = assertThrows(ConfigException.class, () -> ByteSize.parse("ram_cache", "lots"));
    assertEquals("invalid size 'lots' for ram_cache: expected a number with an optional K, M, G or T suffix (e.g. 8M, 16G)",
        e.getMessage());
    assertThrows(ConfigException.class, () -> ByteSize.parse("k", "-1G"));
    assertThrows(ConfigException.class, () -> ByteSize.parse("k", "99999999999T"));
  }

  @Test
  void durations() {
    assertEquals(Duration.ZERO, DurationValue.parse("t", "0"));
    assertEquals(Duration.ofMillis(500), DurationValue.parse("t", "500ms"));
    assertEquals(Duration.ofSeconds(30), DurationValue.parse("t", "30"));
    assertEquals(Duration.ofMinutes(5), DurationValue.parse("t", "5m"));
    assertEquals(Duration.ofHours(1), DurationValue.parse("t", "1h"));
    assertTrue(DurationValue.isIndefinite(DurationValue.parse("t", "indefinite")));
    ConfigException e = assertThrows(ConfigException.class, () -> DurationValue.parse("metadata_ttl", "soon"));
    assertTrue(e.getMessage().startsWith("invalid duration 'soon' for metadata_ttl"));
  }

  @Test
  void fileThenOptionsLayered(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("s3cache.conf");
    Files.writeString(file, "# comment\n\nram_cache = 2G   # trailing\nregion=eu-west-1\n");
    Settings s = new Settings().readFile(file);
    assertEquals(2L << 30, s.size(SettingKey.RAM_CACHE));
    List<String> generic = s.applyOptions("ram_cache=3G,path_style,_netdev");
    assertEquals(3L << 30, s.size(SettingKey.RAM_CACHE));
    assertTrue(s.bool(SettingKey.PATH_STYLE));
    assertEquals("eu-west-1", s.string(SettingKey.REGION));
    assertEquals(List.of("_netdev"), generic);
  }

  @Test
  void unknownKeyInFileNamesFileAndLine(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("bad.conf");
    Files.writeString(file, "region = x\nram_cach = 1G\n");
    ConfigException e = assertThrows(ConfigException.class, () -> new Settings().readFile(file));
    assertEquals("unknown setting 'ram_cach' in " + file + " line 2", e.getMessage());
  }

  @Test
  void shippedConfigFileListsEveryKeyCommentedOutWithItsDefault(@TempDir Path dir) throws Exception {
    Path shipped = Path.of("..", "conf", "s3cache.conf");
    String text = Files.readString(shipped);
    // As shipped it sets nothing: every key is commented out, so installing it changes no behaviour.
    assertTrue(new Settings().readFile(shipped).explicit().isEmpty());
    // Uncommented, every line parses and shows the built-in default.
    Path uncommented = dir.resolve("all.conf");
    Files.writeString(uncommented, text.replaceAll("(?m)^#([a-z_]+ =)", "$1"));
    Settings s = new Settings().readFile(uncommented);
    for (SettingKey k : SettingKey.values()) {
      assertTrue(text.contains("\n#" + k.key() + " ="), "conf/s3cache.conf documents " + k.key());
      assertEquals(k.defaultValue(), s.string(k), "conf/s3cache.conf shows the default of " + k.key());
    }
    assertEquals(SettingKey.values().length, s.explicit().size());
  }

  @Test
  void badValueInFileNamesKeyFileAndLine(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("bad.conf");
    Files.writeString(file, "# cache\nram_cache = 2G\n\nblock_size = 3M\n");
    assertEquals(file + " line 4: invalid block_size 3M: must be a power of two from 64K to 64M",
        assertThrows(ConfigException.class, () -> new Settings().readFile(file)).getMessage());
    Files.writeString(file, "region = x\nmetadata_ttl = soon\n");
    assertEquals(file + " line 2: invalid duration 'soon' for metadata_ttl: expected e.g. 0, 500ms, 30s, 5m, 1h or indefinite",
        assertThrows(ConfigException.class, () -> new Settings().readFile(file)).getMessage());
    Files.writeString(file, "log_level = info,io.s3cache.s3=loud\n");
    assertTrue(assertThrows(ConfigException.class, () -> new Settings().readFile(file)).getMessage()
        .startsWith(file + " line 1: invalid log_level 'info,io.s3cache.s3=loud': unknown level 'loud'"));
    Files.writeString(file, "just a line\n");
    assertEquals(file + " line 1: expected key = value, got 'just a line'",
        assertThrows(ConfigException.class, () -> new Settings().readFile(file)).getMessage());
  }

  @Test
  void commandLineAndOptionsWinOverFileWhichWinsOverDefaults(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("s3cache.conf");
    Files.writeString(file, "ram_cache = 2G\nregion = eu-west-1\nread_ahead = 16M\n");
    Settings s = new Settings().readFile(file);
    s.set(SettingKey.RAM_CACHE, "3G"); // a CLI option
    s.applyOptions("read_ahead=32M"); // -o
    assertEquals(3L << 30, s.size(SettingKey.RAM_CACHE));
    assertEquals(32L << 20, s.size(SettingKey.READ_AHEAD));
    assertEquals("eu-west-1", s.string(SettingKey.REGION));
    assertEquals("8M", s.string(SettingKey.BLOCK_SIZE), "default where nothing says otherwise");
    // A value that replaced the file's is no longer blamed on the file.
    s.applyOptions("ram_cache=lots");
    assertEquals("invalid size 'lots' for ram_cache: expected a number with an optional K, M, G or T suffix (e.g. 8M, 16G)",
        assertThrows(ConfigException.class, s::validate).getMessage());
  }

  @Test
  void logLevelSpec() {
    LogLevelSpec spec = LogLevelSpec.parse("debug, io.s3cache.s3=trace ,software.amazon=INFO");
    assertEquals("debug", spec.own());
    assertEquals(java.util.Map.of("io.s3cache.s3", "trace", "software.amazon", "info"), spec.loggers());
    assertEquals("info", LogLevelSpec.parse("").own());
    assertEquals(LogLevelSpec.parse("info,io.s3cache.s3=debug"), LogLevelSpec.parse("info:io.s3cache.s3=debug"),
        "':' separates parts inside a comma-separated -o list");
    assertEquals("warn", LogLevelSpec.parse("io.s3cache.fs=warning").loggers().get("io.s3cache.fs"));
    assertThrows(ConfigException.class, () -> LogLevelSpec.parse("io.s3cache=debug,info"));
    assertThrows(ConfigException.class, () -> LogLevelSpec.parse("bad name=debug"));
  }

  @Test
  void typedGettersRejectBadValues() {
    Settings s = new Settings().set(SettingKey.PATH_STYLE, "maybe").set(SettingKey.FILE_MODE, "999")
        .set(SettingKey.MAX_ATTEMPTS, "0");
    assertThrows(ConfigException.class, () -> s.bool(SettingKey.PATH_STYLE));
    assertThrows(ConfigException.class, () -> s.mode(SettingKey.FILE_MODE));
    assertThrows(ConfigException.class, () -> s.integer(SettingKey.MAX_ATTEMPTS, 1, 100));
  }
}
