package io.s3cache.mount;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.s3cache.config.ConfigException;
import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class MountSpecTest {

  @Test
  void parsesSource() {
    assertArrayEquals(new String[] {"bucket", ""}, MountSpec.parseSource("s3://bucket"));
    assertArrayEquals(new String[] {"bucket", ""}, MountSpec.parseSource("s3://bucket/"));
    assertArrayEquals(new String[] {"b.k-t", "data/train/"}, MountSpec.parseSource("s3://b.k-t/data/train/"));
  }

  @Test
  void rejectsBadSources() {
    assertEquals("invalid source 'bucket': expected s3://BUCKET[/PREFIX]",
        assertThrows(ConfigException.class, () -> MountSpec.parseSource("bucket")).getMessage());
    assertThrows(ConfigException.class, () -> MountSpec.parseSource("s3://"));
    assertThrows(ConfigException.class, () -> MountSpec.parseSource("s3://bad bucket"));
    assertThrows(ConfigException.class, () -> MountSpec.parseSource("s3://bkt/x//y"));
  }

  @Test
  void kernelTimeoutsFollowMetadataTtl() {
    Settings s = new Settings().set(SettingKey.METADATA_TTL, "5m").set(SettingKey.ENDPOINT, "http://127.0.0.1:9000");
    MountSpec spec = MountSpec.from("s3://bkt/p", Path.of("/mnt/x"), s, List.of("_netdev"));
    assertTrue(spec.fuseOptions().contains("attr_timeout=300"));
    assertTrue(spec.fuseOptions().contains("entry_timeout=300"));
    assertTrue(spec.fuseOptions().contains("fsname=s3://bkt/p"));
    assertEquals("p/", spec.prefix());
  }

  @Test
  void readAheadSettings() {
    MountSpec spec = MountSpec.from("s3://bkt", Path.of("/m"), new Settings(), List.of());
    assertEquals(64L << 20, spec.readAhead().maxWindowBytes());
    assertEquals(512L << 20, spec.readAhead().prefetchMemoryBytes());
    MountSpec off = MountSpec.from("s3://bkt", Path.of("/m"),
        new Settings().set(SettingKey.READ_AHEAD, "0").set(SettingKey.PREFETCH_MEMORY, "0"), List.of());
    assertEquals(false, off.readAhead().enabled());
    assertEquals("invalid prefetch_memory 4M: must be at least block_size (8M) while read_ahead is on",
        assertThrows(ConfigException.class, () -> MountSpec.from("s3://bkt", Path.of("/m"),
            new Settings().set(SettingKey.PREFETCH_MEMORY, "4M"), List.of())).getMessage());
  }

  @Test
  void badValuesNameTheSetting() {
    assertEquals("invalid block_size 3M: must be a power of two from 64K to 64M",
        assertThrows(ConfigException.class, () -> MountSpec.from("s3://bkt", Path.of("/m"),
            new Settings().set(SettingKey.BLOCK_SIZE, "3M"), List.of())).getMessage());
    assertEquals("invalid endpoint 'localhost:9000': expected http(s)://HOST[:PORT]",
        assertThrows(ConfigException.class, () -> MountSpec.from("s3://bkt", Path.of("/m"),
            new Settings().set(SettingKey.ENDPOINT, "localhost:9000"), List.of())).getMessage());
    assertEquals("unknown mount option 'bogus'",
        assertThrows(ConfigException.class, () -> MountSpec.from("s3://bkt", Path.of("/m"), new Settings(),
            List.of("bogus"))).getMessage());
    assertEquals("unknown mount option 'noauto=1'",
        assertThrows(ConfigException.class, () -> MountSpec.from("s3://bkt", Path.of("/m"), new Settings(),
            List.of("noauto=1"))).getMessage());
    MountSpec rw = MountSpec.from("s3://bkt", Path.of("/m"), new Settings(), List.of("rw"));
    assertTrue(rw.writable());
    assertTrue(rw.fuseOptions().contains("big_writes"));
    assertTrue(rw.fuseOptions().contains("hard_remove"), "rm of an open file renames nothing in S3");
    assertFalse(rw.fuseOptions().contains("ro"));
    assertEquals(0644, rw.fs().fileMode());
    assertEquals(0755, rw.fs().dirMode());
    MountSpec ro = MountSpec.from("s3://bkt", Path.of("/m"), new Settings(), List.of());
    assertFalse(ro.writable());
    assertTrue(ro.fuseOptions().contains("ro"));
    assertEquals(0444, ro.fs().fileMode());
    assertFalse(MountSpec.from("s3://bkt", Path.of("/m"), new Settings(), List.of("rw", "ro")).writable());
    assertThrows(ConfigException.class, () -> MountSpec.from("s3://bkt", Path.of("/m"),
        new Settings().set(SettingKey.UPLOAD_PART_SIZE, "1M"), List.of("rw")));
    assertThrows(ConfigException.class, () -> MountSpec.from("s3://bkt", Path.of("/m"),
        new Settings().set(SettingKey.METADATA_TTL, "forever"), List.of()));
  }

  @Test
  void optionsMountAndSystemdAddAreAccepted() {
    // systemd and fstab add x-*, comment=, _netdev, nofail... (and mount(8) "rw" or "ro")
    List<String> generic = List.of("ro", "defaults", "_netdev", "nofail", "noauto", "auto", "user", "users",
        "exec", "noexec", "suid", "nosuid", "dev", "nodev", "atime", "noatime", "relatime",
        "x-systemd.automount", "x-systemd.requires=s3cache.service", "x-systemd.mount-timeout=2min",
        "comment=systemd.automount");
    MountSpec spec = MountSpec.from("s3://bkt", Path.of("/m"), new Settings(), generic);
    assertTrue(spec.fuseOptions().contains("ro"), "ro keeps the mount read-only");
    assertTrue(MountSpec.from("s3://bkt", Path.of("/m"), new Settings(), List.of("defaults", "rw")).writable(),
        "rw (mount(8) passes it for an fstab line without ro) makes the mount writable");
  }

  @Test
  void umaskSetsBothModes() {
    MountSpec spec = MountSpec.from("s3://bkt", Path.of("/m"),
        new Settings().set(SettingKey.UMASK, "027").set(SettingKey.UID, "1234").set(SettingKey.GID, "55"), List.of());
    assertEquals(0640, spec.fs().fileMode());
    assertEquals(0750, spec.fs().dirMode());
    assertEquals(1234, spec.fs().uid());
    assertTrue(spec.fuseOptions().contains("default_permissions"));
    assertEquals("invalid umask '1777': expected octal from 000 to 777, e.g. 022",
        assertThrows(ConfigException.class, () -> MountSpec.from("s3://bkt", Path.of("/m"),
            new Settings().set(SettingKey.UMASK, "1777"), List.of())).getMessage());
  }
}
