package io.s3cache.mount;

import com.sun.security.auth.module.UnixSystem;
import io.s3cache.cache.CacheConfig;
import io.s3cache.config.ConfigException;
import io.s3cache.config.DurationValue;
import io.s3cache.config.SettingKey;
import io.s3cache.config.Settings;
import io.s3cache.fs.FsConfig;
import io.s3cache.readahead.ReadAheadConfig;
import io.s3cache.s3.S3Config;
import io.s3cache.write.WriteConfig;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Everything one mount needs, typed and validated, built once from {@link Settings}: what to mount
 * where, and each component's config.
 */
public record MountSpec(
    String bucket,
    String prefix,
    Path mountPoint,
    S3Config s3,
    CacheConfig cache,
    FsConfig fs,
    List<String> fuseOptions,
    long kernelReadAhead,
    Duration mountTimeout,
    ReadAheadConfig readAhead,
    WriteConfig write,
    String profile) {

  /** Everything but the profile: the mount signs with the credentials its caller gives. */
  public MountSpec(String bucket, String prefix, Path mountPoint, S3Config s3, CacheConfig cache, FsConfig fs,
      List<String> fuseOptions, long kernelReadAhead, Duration mountTimeout, ReadAheadConfig readAhead,
      WriteConfig write) {
    this(bucket, prefix, mountPoint, s3, cache, fs, fuseOptions, kernelReadAhead, mountTimeout, readAhead, write,
        null);
  }

  /** A copy that shares {@code cache} (a daemon's). */
  public MountSpec withCache(CacheConfig cache) {
    return new MountSpec(bucket, prefix, mountPoint, s3, cache, fs, fuseOptions, kernelReadAhead, mountTimeout,
        readAhead, write, profile);
  }

  /** Whether the mount takes writes ({@code -o rw}); read-only otherwise. */
  public boolean writable() {
    return write != null;
  }

  /** S3's rules, as loosely as its legacy us-east-1 names: 3 to 255 characters, letters or digits at both ends. */
  private static final Pattern BUCKET = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]");
  /**
   * Generic mount(8) and systemd options that mean nothing to s3cache itself and are accepted
   * silently (besides {@code x-*} and {@code comment=*}). {@code rw} is among them because mount(8)
   * passes it for every fstab line with {@code defaults}; the mount is read-only all the same.
   */
  public static final Set<String> GENERIC = Set.of("defaults", "_netdev", "auto", "noauto", "nofail", "user",
      "users", "nouser", "owner", "group", "ro", "rw", "exec", "noexec", "suid", "nosuid", "dev", "nodev",
      "atime", "noatime", "relatime", "norelatime", "strictatime", "nostrictatime", "lazytime", "nolazytime",
      "diratime", "nodiratime", "sync", "async", "dirsync", "mand", "nomand", "iversion", "noiversion",
      "nosymfollow", "symfollow", "loud", "silent");

  /** Whether {@code option} ("name" or "name=value") is a generic mount option s3cache ignores. */
  public static boolean isGeneric(String option) {
    String name = option.contains("=") ? option.substring(0, option.indexOf('=')) : option;
    return (GENERIC.contains(name) && !option.contains("=")) || name.startsWith("x-") || name.equals("comment");
  }

  /**
   * @param source "s3://BUCKET[/PREFIX]"
   * @param extraOptions generic -o options that were not s3cache settings
   */
  public static MountSpec from(String source, Path mountPoint, Settings settings, List<String> extraOptions) {
    settings.validate();
    String[] bucketAndPrefix = parseSource(source);
    String bucket = bucketAndPrefix[0];
    String region = settings.string(SettingKey.REGION);
    if (region.isEmpty()) {
      throw new ConfigException("region must not be empty");
    }
    S3Config s3 = new S3Config(
        endpoint(settings.string(SettingKey.ENDPOINT)),
        region,
        settings.bool(SettingKey.PATH_STYLE),
        checksumMode(settings.string(SettingKey.CHECKSUM_MODE)),
        settings.integer(SettingKey.MAX_CONNECTIONS, 1, 4096),
        positive(settings, SettingKey.CONNECT_TIMEOUT),
        positive(settings, SettingKey.REQUEST_TIMEOUT),
        settings.integer(SettingKey.MAX_ATTEMPTS, 1, 100),
        Duration.ofMillis(100),
        Duration.ofSeconds(5),
        S3Config.GetClient.valueOf(settings.string(SettingKey.GET_CLIENT).toUpperCase(Locale.ROOT)));
    CacheConfig cache = cacheConfig(settings);
    Duration ttl = settings.duration(SettingKey.METADATA_TTL);
    boolean writable = writable(extraOptions);
    FsConfig fs = new FsConfig(bucket, bucketAndPrefix[1], ttl,
        settings.duration(SettingKey.METADATA_MAX_STALE),
        idOr(settings, SettingKey.UID, currentId("uid")), idOr(settings, SettingKey.GID, currentId("gid")),
        fileMode(settings, writable), dirMode(settings, writable));

    List<String> fuse = new ArrayList<>();
    // The source as fstab spells it, so mount -a sees an fstab line as mounted and skips it.
    fuse.add("fsname=" + canonicalSource(bucket, fs.prefix()));
    fuse.add("subtype=s3cache");
    if (writable) {
      fuse.add("big_writes"); // 128 KiB writes instead of 4 KiB (libfuse2)
      // rm of an open file unlinks it at once (no .fuse_hidden rename, which would copy the object
      // in S3 or upload a staged file under that name); open handles keep working by handle.
      fuse.add("hard_remove");
    } else {
      fuse.add("ro");
    }
    fuse.add("default_permissions");
    // libfuse takes fractional seconds, so a 500ms TTL stays 0.5 s in the kernel too.
    String kernelTtl = DurationValue.isIndefinite(ttl) ? Long.toString(365L * 24 * 3600)
        : java.math.BigDecimal.valueOf(ttl.toMillis(), 3).stripTrailingZeros().toPlainString();
    fuse.add("attr_timeout=" + kernelTtl);
    fuse.add("entry_timeout=" + kernelTtl);
    fuse.add("negative_timeout=" + kernelTtl);
    fuse.add("max_read=131072");
    fuse.add("use_ino"); // report our stable inode numbers, not libfuse's per-session counters
    if (settings.bool(SettingKey.ALLOW_OTHER)) {
      fuse.add("allow_other");
    }
    for (String o : extraOptions) {
      if (!isGeneric(o)) {
        throw new ConfigException("unknown mount option '" + o + "'");
      }
    }
    Duration mountTimeout = positive(settings, SettingKey.MOUNT_TIMEOUT);
    return new MountSpec(bucket, fs.prefix(), mountPoint.toAbsolutePath().normalize(), s3, cache, fs,
        List.copyOf(fuse), settings.size(SettingKey.KERNEL_READ_AHEAD), mountTimeout,
        readAhead(settings, cache.blockSize()), writable ? writeConfig(settings) : null,
        settings.string(SettingKey.PROFILE).isEmpty() ? null : settings.string(SettingKey.PROFILE));
  }

  // ---- the write path (-o rw) ----

  /** {@code rw} makes a mount writable, {@code ro} (the default) read-only; the last one given wins. */
  static boolean writable(List<String> options) {
    boolean rw = false;
    for (String o : options) {
      if (o.equals("rw")) {
        rw = true;
      } else if (o.equals("ro")) {
        rw = false;
      }
    }
    return rw;
  }

  /** The write path's config (multipart_threshold, upload_part_size, ...). */
  public static WriteConfig writeConfig(Settings settings) {
    List<String> temps = new ArrayList<>();
    for (String glob : settings.string(SettingKey.TEMP_NAMES).split("[,:]")) {
      if (!glob.isBlank()) {
        temps.add(glob.trim());
      }
    }
    try {
      return new WriteConfig(settings.size(SettingKey.MULTIPART_THRESHOLD), settings.size(SettingKey.UPLOAD_PART_SIZE),
          settings.integer(SettingKey.UPLOAD_THREADS, 1, 256), settings.size(SettingKey.WRITE_COPY_MAX), temps,
          settings.duration(SettingKey.TEMP_UPLOAD_DELAY));
    } catch (IllegalArgumentException e) {
      throw new ConfigException("invalid write settings: " + e.getMessage());
    }
  }

  private static int modeOr(Settings settings, SettingKey key, int fallback) {
    return settings.string(key).isEmpty() ? fallback : settings.mode(key);
  }

  /** "s3://bucket" or "s3://bucket/some/prefix" (no trailing slash), as a user writes it. */
  public static String canonicalSource(String bucket, String prefix) {
    return "s3://" + bucket + (prefix.isEmpty() ? "" : "/" + prefix.substring(0, prefix.length() - 1));
  }

  /** file_mode, or 0666 less umask when umask is set. */
  static int fileMode(Settings settings, boolean writable) {
    return settings.string(SettingKey.UMASK).isEmpty() ? modeOr(settings, SettingKey.FILE_MODE, writable ? 0644 : 0444)
        : 0666 & ~settings.mode(SettingKey.UMASK);
  }

  /** dir_mode, or 0777 less umask when umask is set. */
  static int dirMode(Settings settings, boolean writable) {
    return settings.string(SettingKey.UMASK).isEmpty() ? modeOr(settings, SettingKey.DIR_MODE, writable ? 0755 : 0555)
        : 0777 & ~settings.mode(SettingKey.UMASK);
  }

  /** The shared read-ahead's config from the settings (read_ahead, prefetch_memory). */
  public static ReadAheadConfig readAhead(Settings settings, int blockSize) {
    ReadAheadConfig config;
    try {
      config = new ReadAheadConfig(settings.size(SettingKey.READ_AHEAD),
          settings.size(SettingKey.PREFETCH_MEMORY));
    } catch (IllegalArgumentException e) {
      throw new ConfigException(e.getMessage());
    }
    if (config.enabled() && config.prefetchMemoryBytes() < blockSize) {
      throw new ConfigException("invalid prefetch_memory " + settings.string(SettingKey.PREFETCH_MEMORY)
          + ": must be at least block_size (" + settings.string(SettingKey.BLOCK_SIZE) + ") while read_ahead is on");
    }
    return config;
  }

  /** The shared cache's config from the daemon-wide settings (cache_dir, ram_cache, ...). */
  public static CacheConfig cacheConfig(Settings settings) {
    long blockSize = settings.size(SettingKey.BLOCK_SIZE);
    if (Long.bitCount(blockSize) != 1 || blockSize < CacheConfig.MIN_BLOCK_SIZE || blockSize > CacheConfig.MAX_BLOCK_SIZE) {
      throw new ConfigException("invalid block_size " + settings.string(SettingKey.BLOCK_SIZE)
          + ": must be a power of two from 64K to 64M");
    }
    long diskCache = settings.size(SettingKey.DISK_CACHE);
    if (diskCache != 0 && diskCache < 2L << 20) {
      throw new ConfigException("invalid disk_cache " + settings.string(SettingKey.DISK_CACHE)
          + ": must be 0 (disk tier off) or at least 2M");
    }
    return new CacheConfig(
        (int) blockSize,
        settings.size(SettingKey.RAM_CACHE),
        Path.of(settings.string(SettingKey.CACHE_DIR)).toAbsolutePath().normalize(),
        diskCache,
        settings.integer(SettingKey.MAX_FETCHES, 1, 4096),
        CacheConfig.DEFAULT_MAX_PENDING_DISK_WRITE_BYTES,
        false,
        settings.size(SettingKey.DISK_MIN_FREE));
  }

  /** "s3://bucket/some/prefix" → {"bucket", "some/prefix/"}. */
  static String[] parseSource(String source) {
    if (source == null || !source.startsWith("s3://")) {
      throw new ConfigException("invalid source '" + source + "': expected s3://BUCKET[/PREFIX]");
    }
    String rest = source.substring("s3://".length());
    int slash = rest.indexOf('/');
    String bucket = slash < 0 ? rest : rest.substring(0, slash);
    String prefix = slash < 0 ? "" : rest.substring(slash + 1);
    if (!BUCKET.matcher(bucket).matches()) {
      throw new ConfigException("invalid bucket name '" + bucket + "' in " + source + ": S3 bucket names are 3 to "
          + "63 characters (letters, digits, '.', '-'), beginning and ending with a letter or digit");
    }
    while (prefix.endsWith("/")) {
      prefix = prefix.substring(0, prefix.length() - 1);
    }
    if (prefix.contains("//")) {
      throw new ConfigException("invalid prefix in " + source + ": empty path component");
    }
    return new String[] {bucket, prefix.isEmpty() ? "" : prefix + "/"};
  }

  private static URI endpoint(String text) {
    if (text.isEmpty()) {
      return null;
    }
    try {
      URI uri = new URI(text);
      if (uri.getScheme() == null || uri.getHost() == null
          || !(uri.getScheme().equals("http") || uri.getScheme().equals("https"))) {
        throw new URISyntaxException(text, "expected http(s)://HOST[:PORT]");
      }
      return uri;
    } catch (URISyntaxException e) {
      throw new ConfigException("invalid endpoint '" + text + "': expected http(s)://HOST[:PORT]");
    }
  }

  private static S3Config.ChecksumMode checksumMode(String text) {
    try {
      return S3Config.ChecksumMode.valueOf(text.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new ConfigException("invalid checksum_mode '" + text + "': expected when_supported or when_required");
    }
  }

  private static Duration positive(Settings settings, SettingKey key) {
    Duration d = settings.duration(key);
    if (d.isZero()) {
      throw new ConfigException(key.key() + " must be greater than zero");
    }
    return d;
  }

  private static int idOr(Settings settings, SettingKey key, int fallback) {
    return settings.string(key).isEmpty() ? fallback : settings.integer(key, 0, Integer.MAX_VALUE);
  }

  /** The uid or gid of this process, so files belong to whoever mounted. */
  private static int currentId(String which) {
    UnixSystem unix = new UnixSystem();
    return (int) (which.equals("uid") ? unix.getUid() : unix.getGid());
  }
}
