package io.s3cache.control;

import io.s3cache.config.ConfigException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.util.EnumSet;
import java.util.Set;

/**
 * The secret a TCP control request must present as {@code Authorization: Bearer TOKEN}. Read from
 * {@code control_token_file}, which must be a regular file of the daemon's user that neither group
 * nor others can read: whoever can read it can do anything the daemon can. Compared in constant
 * time. {@link #toString} never shows it.
 */
public final class ControlToken {

  /** Shorter secrets are refused: a guessable token is no authentication. */
  static final int MIN_LENGTH = 16;
  private static final Set<PosixFilePermission> GROUP_OR_OTHER = EnumSet.of(
      PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
      PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

  private final byte[] secret;

  private ControlToken(byte[] secret) {
    this.secret = secret;
  }

  /** A token from its text (tests, and the CLI reading its --token-file). */
  public static ControlToken of(String text) {
    String t = text.strip();
    if (t.length() < MIN_LENGTH || t.chars().anyMatch(c -> c <= ' ' || c > '~')) {
      throw new ConfigException("a control token must be at least " + MIN_LENGTH
          + " printable ASCII characters without spaces");
    }
    return new ControlToken(t.getBytes(StandardCharsets.US_ASCII));
  }

  /** Reads the daemon's token file, checking that only this process's user can read it. */
  public static ControlToken readOwnerOnly(Path file) {
    try {
      return readOwnerOnly(file, ControlServer.effectiveUid());
    } catch (IOException e) {
      throw new ConfigException("cannot tell this process's uid: " + e.getMessage());
    }
  }

  /**
   * Reads the daemon's token file, checking that only {@code ownUid} can read it.
   *
   * @throws ConfigException one line naming the file and what is wrong with it
   */
  public static ControlToken readOwnerOnly(Path file, int ownUid) {
    try {
      if (!Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
          .isRegularFile()) {
        throw new ConfigException("control_token_file " + file + " is not a regular file");
      }
      int owner = (Integer) Files.getAttribute(file, "unix:uid", LinkOption.NOFOLLOW_LINKS);
      if (owner != ownUid) {
        throw new ConfigException("control_token_file " + file + " is owned by uid " + owner
            + ", not by the daemon's uid " + ownUid);
      }
      Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
      perms.retainAll(GROUP_OR_OTHER);
      if (!perms.isEmpty()) {
        throw new ConfigException("control_token_file " + file + " is open to group or others; "
            + "chmod 600 " + file);
      }
      return of(Files.readString(file, StandardCharsets.US_ASCII));
    } catch (NoSuchFileException e) {
      throw new ConfigException("control_token_file " + file + " does not exist");
    } catch (ConfigException e) {
      throw e.getMessage().startsWith("control_token_file") ? e
          : new ConfigException("control_token_file " + file + ": " + e.getMessage());
    } catch (IOException | RuntimeException e) {
      throw new ConfigException("control_token_file " + file + " cannot be read: " + e.getMessage());
    }
  }

  /** Whether {@code authorization} (the header's value, or null) is "Bearer " and this token. */
  boolean matches(String authorization) {
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return false;
    }
    byte[] given = authorization.substring(7).strip().getBytes(StandardCharsets.US_ASCII);
    return MessageDigest.isEqual(secret, given); // constant time for equal lengths
  }

  /** The header value a client sends. */
  public String authorization() {
    return "Bearer " + new String(secret, StandardCharsets.US_ASCII);
  }

  @Override
  public String toString() {
    return "ControlToken[<redacted>]";
  }
}
