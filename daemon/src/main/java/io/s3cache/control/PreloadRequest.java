package io.s3cache.control;

import java.util.List;

/**
 * POST /preload.
 *
 * @param paths mounted paths (/mnt/data/train) or s3:// URLs of a mounted bucket
 * @param parallel concurrent block fetches (1..256)
 * @param shardIndex with {@code shardCount}: load only objects whose key hashes to this shard
 *     (0-based); null for all
 * @param dryRun list and size what would be fetched, fetch nothing
 */
public record PreloadRequest(List<String> paths, int parallel, Integer shardIndex, Integer shardCount, boolean dryRun) {
  public PreloadRequest {
    paths = paths == null ? List.of() : List.copyOf(paths);
  }
}
