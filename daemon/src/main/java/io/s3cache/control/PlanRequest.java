package io.s3cache.control;

import java.util.List;

/**
 * POST /plan: the files one trainer process (a rank) will read next, in order.
 *
 * @param epoch the caller's epoch number (echoed in {@link PlanStatus}; any value)
 * @param paths absolute paths inside one s3cache mount, in read order (repeats allowed)
 * @param window planned files ahead of the reader; null for the default (256)
 * @param windowBytes planned bytes ahead of the reader; null for the default (256 MiB)
 * @param wholeFileBytes files up to this size are prefetched whole, larger ones their first block;
 *     null for the default (8 MiB)
 * @param name the plan's lane: a plan replaces the mount's plans of the same name, and plans of
 *     other names run beside it; null for {@code "default"}
 * @param next true to queue this plan as the follow-on of the active plan of that name (it starts
 *     prefetching once that plan has asked for all its blocks and takes over when that plan ends);
 *     with no such plan it starts at once. Null is false.
 * @param endWithClient true to end the plan (and its follow-on) when the process that sent the
 *     request exits (Unix socket only: the daemon reads its pid from SO_PEERCRED). Null is false.
 */
public record PlanRequest(long epoch, List<String> paths, Integer window, Long windowBytes, Long wholeFileBytes,
    String name, Boolean next, Boolean endWithClient) {
  public PlanRequest {
    paths = paths == null ? List.of() : List.copyOf(paths);
  }

  public PlanRequest(long epoch, List<String> paths) {
    this(epoch, paths, null, null, null, null, null, null);
  }

  public PlanRequest(long epoch, List<String> paths, Integer window, Long windowBytes, Long wholeFileBytes) {
    this(epoch, paths, window, windowBytes, wholeFileBytes, null, null, null);
  }

  /** The lane name, {@code "default"} when none was given. */
  public String laneName() {
    return name == null ? "default" : name;
  }
}
