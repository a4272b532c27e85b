package io.s3cache.control;

import java.util.List;

/**
 * POST /plan: the files a trainer will read next, in order.
 *
 * @param epoch the caller's epoch number (echoed in {@link PlanStatus}; any value)
 * @param paths absolute paths inside one s3cache mount, in read order (repeats allowed)
 * @param window planned files ahead of the reader; null for the default (256)
 * @param windowBytes planned bytes ahead of the reader; null for the default (256 MiB)
 * @param wholeFileBytes files up to this size are prefetched whole, larger ones their first block;
 *     null for the default (8 MiB)
 */
public record PlanRequest(long epoch, List<String> paths, Integer window, Long windowBytes, Long wholeFileBytes) {
  public PlanRequest {
    paths = paths == null ? List.of() : List.copyOf(paths);
  }

  public PlanRequest(long epoch, List<String> paths) {
    this(epoch, paths, null, null, null);
  }
}
