package io.s3cache.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.s3cache.config.SettingKey;
import io.s3cache.mount.MountSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Walks what docs/CONFIGURATION.md documents and feeds each item to the real command line
 * ({@code s3cache mount --check-only}, which parses and checks everything and mounts nothing):
 * every setting of the reference table (with its documented default, and as a CLI option where
 * one is documented), and every generic mount option. The doc and the code list the same keys.
 */
class DocumentedOptionsTest {

  private static final Path DOC = Path.of("..", "docs", "CONFIGURATION.md");
  private static final Set<SettingKey> FREE_TEXT = Set.of(SettingKey.TEMP_NAMES, SettingKey.REGION, SettingKey.CACHE_DIR,
      SettingKey.LOG_FILE, SettingKey.CONTROL_SOCKET, SettingKey.CONTROL_TOKEN_FILE);

  @TempDir Path dir;

  record Row(String key, String scope, String defaultText, String cliOption) {}

  private static List<Row> referenceTable() throws Exception {
    String doc = Files.readString(DOC);
    String table = section(doc, "## Reference: every setting");
    List<Row> rows = new ArrayList<>();
    for (String line : table.split("\n")) {
      Matcher m = Pattern.compile("^\\| `([a-z_]+)` \\| (\\w+) \\| ([^|]*) \\| ([^|]*) \\|").matcher(line);
      if (m.find()) {
        rows.add(new Row(m.group(1), m.group(2), m.group(3).trim(), m.group(4).trim()));
      }
    }
    return rows;
  }

  private static String section(String doc, String heading) {
    int start = doc.indexOf("\n" + heading + "\n");
    assertTrue(start >= 0, "docs/CONFIGURATION.md has " + heading);
    int end = doc.indexOf("\n## ", start + heading.length() + 2);
    return doc.substring(start, end < 0 ? doc.length() : end);
  }

  private int checkOnly(String... extra) {
    List<String> args = new ArrayList<>(List.of("mount", "--check-only", "s3://bucket/prefix", dir.toString()));
    args.addAll(List.of(extra));
    return S3cacheCli.run(args.toArray(String[]::new));
  }

  @Test
  void referenceTableListsEverySettingWithItsScopeAndDefault() throws Exception {
    Map<String, Row> documented = new LinkedHashMap<>();
    for (Row r : referenceTable()) {
      documented.put(r.key(), r);
    }
    Set<String> keys = new LinkedHashSet<>();
    for (SettingKey k : SettingKey.values()) {
      keys.add(k.key());
      Row row = documented.get(k.key());
      assertTrue(row != null, "docs/CONFIGURATION.md documents " + k.key());
      assertEquals(k.daemonWide() ? "daemon" : "mount", row.scope(), "scope of " + k.key());
      if (!k.defaultValue().isEmpty()) {
        assertEquals("`" + k.defaultValue() + "`", row.defaultText(), "documented default of " + k.key());
      } else {
        assertTrue(row.defaultText().startsWith("empty"), "documented default of " + k.key());
      }
    }
    assertEquals(keys, documented.keySet(), "the doc lists no setting the code lacks");
  }

  @Test
  void everyDocumentedSettingParsesThroughTheCommandLine() throws Exception {
    for (Row r : referenceTable()) {
      SettingKey k = SettingKey.of(r.key()).orElseThrow();
      assertEquals(0, checkOnly("-o", k.key() + "=" + k.defaultValue()), "-o " + k.key() + "=" + k.defaultValue());
      assertEquals(0, checkOnly("-o", k.key().replace('_', '-') + "=" + k.defaultValue()), "dashes work too: " + k.key());
      if (!FREE_TEXT.contains(k)) {
        assertEquals(2, checkOnly("-o", k.key() + "=no/such:value!"), "a bad " + k.key() + " is a usage error");
      }
      if (r.cliOption().startsWith("`--")) {
        String option = r.cliOption().replaceAll("`([-a-z]+).*", "$1");
        String value = k.defaultValue().isEmpty() ? "http://127.0.0.1:9000" : k.defaultValue();
        assertEquals(0, checkOnly(option + "=" + value), option + " as documented");
      }
    }
  }

  @Test
  void everyDocumentedMountOptionIsAccepted() throws Exception {
    String section = section(Files.readString(DOC), "## Mount options");
    section = section.substring(section.indexOf("ignore them:"), section.indexOf("The mount is always"));
    Matcher m = Pattern.compile("`([^`]+)`").matcher(section);
    Set<String> documented = new LinkedHashSet<>();
    while (m.find()) {
      documented.add(m.group(1));
    }
    for (String generic : MountSpec.GENERIC) {
      assertTrue(documented.contains(generic), "docs/CONFIGURATION.md lists mount option " + generic);
    }
    for (String option : documented) {
      String concrete = option.replace("*", "x").replace("...", "1");
      assertEquals(0, checkOnly("-o", concrete), "mount option " + concrete);
    }
    assertEquals(2, checkOnly("-o", "colour=blue"));
    assertFalse(documented.isEmpty());
  }
}
