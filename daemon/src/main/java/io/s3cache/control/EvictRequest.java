package io.s3cache.control;

import java.util.List;

/** POST /evict: mounted paths or s3:// URLs whose cached blocks to drop. */
public record EvictRequest(List<String> paths) {
  public EvictRequest {
    paths = paths == null ? List.of() : List.copyOf(paths);
  }
}
