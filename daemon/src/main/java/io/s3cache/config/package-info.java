/**
 * Settings: the keys every mount takes ({@link io.s3cache.config.SettingKey}), their layering
 * (defaults, config file, CLI, -o) and parsing of sizes and durations with one-line errors.
 */
package io.s3cache.config;
