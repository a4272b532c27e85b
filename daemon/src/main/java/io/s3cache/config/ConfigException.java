package io.s3cache.config;

/** A setting that cannot be used; the message names the setting and what is wrong, in one line. */
public final class ConfigException extends RuntimeException {
  public ConfigException(String message) {
    super(message);
  }
}
