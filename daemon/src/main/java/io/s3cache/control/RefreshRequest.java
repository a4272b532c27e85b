package io.s3cache.control;

import java.util.List;

/** POST /refresh: paths inside mounts (a mount point itself for its whole tree) to re-list. */
public record RefreshRequest(List<String> paths) {
  public RefreshRequest {
    paths = paths == null ? List.of() : List.copyOf(paths);
  }
}
