package io.s3cache.bench;

import java.nio.file.Path;

/**
 * One filesystem being measured: local disk, the s3cache mount, or a peer tool's mount, each
 * holding the same bytes under {@code root}: {@code big.bin} and {@code small/...}.
 *
 * @param dropsPageCacheOnly whether dropping the kernel page cache leaves its own cache warm
 *     (s3cache's RAM/disk tiers, s3fs's use_cache dir, rclone's VFS cache); false for local disk
 */
record Target(String name, Path root, boolean dropsPageCacheOnly) {
  Path big() {
    return root.resolve("big.bin");
  }
}
