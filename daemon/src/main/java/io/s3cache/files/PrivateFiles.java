package io.s3cache.files;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import jnr.ffi.LibraryLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything the daemon writes (cached blocks, staged writes, the index, logs) is its user's alone:
 * another local user must not read cached or staged bytes, nor plant a symlink where we write.
 *
 * <p>Java cannot set the process umask, so {@link #restrictUmask} calls libc's; the explicit modes
 * below hold even where that fails, and {@link #tighten} repairs what was created looser.
 */
public final class PrivateFiles {

  private static final Logger LOG = LoggerFactory.getLogger(PrivateFiles.class);

  public static final Set<PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString("rwx------");
  public static final Set<PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> OWNER = EnumSet.of(PosixFilePermission.OWNER_READ,
      PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE);
  /** How deep {@link #tighten} looks: the cache dir, blocks/ index/ logs/ staging/, their entries. */
  private static final int TIGHTEN_DEPTH = 2;

  /** libc, for umask(2). */
  public interface LibC {
    int umask(int mask);
  }

  private PrivateFiles() {}

  /**
   * Sets this process's umask to 077, so every file any library creates (RocksDB, logback) starts
   * owner-only. Returns false (and logs a WARN) when libc cannot be called.
   */
  public static boolean restrictUmask() {
    try {
      LibraryLoader.create(LibC.class).failImmediately().load("c").umask(0077);
      return true;
    } catch (RuntimeException | LinkageError e) {
      LOG.warn("cannot set the umask to 077 ({}); files are made owner-only one by one", e.toString());
      return false;
    }
  }

  /** Creates {@code dir} and its missing parents with mode 0700 (an existing one is left as it is). */
  public static Path createDirectories(Path dir) throws IOException {
    return Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(DIR_MODE));
  }

  /**
   * Creates {@code file} (mode 0600) unless it exists, refusing a symbolic link at its name, so
   * that a writer opening it next appends to our file and not to one an attacker points at.
   *
   * @throws IOException naming the file when it is a symbolic link or cannot be created
   */
  public static void createFile(Path file) throws IOException {
    Set<OpenOption> options = Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.APPEND, LinkOption.NOFOLLOW_LINKS);
    FileAttribute<Set<PosixFilePermission>> mode = PosixFilePermissions.asFileAttribute(FILE_MODE);
    try {
      Files.newByteChannel(file, options, mode).close();
    } catch (IOException e) { // ELOOP comes as a plain IOException
      if (Files.isSymbolicLink(file)) {
        throw new IOException(file + " is a symbolic link; refusing to write through it", e);
      }
      throw e;
    }
  }

  /**
   * A fresh directory only we can use, for when no configured place is writable: a name nobody
   * could have chosen in advance, created exclusively with mode 0700 ({@code $XDG_RUNTIME_DIR},
   * the user's private runtime directory, when it is set and ours; else the temp dir).
   */
  public static Path createPrivateTempDirectory(String prefix) throws IOException {
    String runtime = System.getenv("XDG_RUNTIME_DIR");
    Path parent = Path.of(System.getProperty("java.io.tmpdir"));
    if (runtime != null && !runtime.isBlank() && ownedPrivateDirectory(Path.of(runtime))) {
      parent = Path.of(runtime);
    }
    return Files.createTempDirectory(parent, prefix, PosixFilePermissions.asFileAttribute(DIR_MODE));
  }

  private static boolean ownedPrivateDirectory(Path dir) {
    try {
      PosixFileAttributes a = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      return a.isDirectory() && a.owner().getName().equals(System.getProperty("user.name"))
          && OWNER.containsAll(a.permissions());
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    }
  }

  /**
   * Removes group and other permissions from {@code root} and the entries two levels below it
   * (symbolic links are left alone and not followed). Deeper entries sit in directories only we
   * can enter. Logs one WARN when anything was changed.
   *
   * @return how many entries were changed
   */
  public static int tighten(Path root) throws IOException {
    if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
      return 0;
    }
    int changed = 0;
    List<Path> entries;
    try (Stream<Path> walk = Files.walk(root, TIGHTEN_DEPTH)) {
      entries = walk.toList();
    }
    for (Path p : entries) {
      PosixFileAttributes a;
      try {
        a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      } catch (java.nio.file.NoSuchFileException e) {
        continue; // gone meanwhile
      }
      if (a.isSymbolicLink() || OWNER.containsAll(a.permissions())) {
        continue;
      }
      Set<PosixFilePermission> owner = EnumSet.noneOf(PosixFilePermission.class);
      owner.addAll(a.permissions());
      owner.retainAll(OWNER);
      Files.setPosixFilePermissions(p, owner);
      changed++;
    }
    if (changed > 0) {
      LOG.warn("{}: made {} directories and files owner-only that group or others could read "
          + "(left by an older s3cache or created by hand)", root, changed);
    }
    return changed;
  }
}
