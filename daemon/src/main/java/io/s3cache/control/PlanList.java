package io.s3cache.control;

import java.util.List;

/** GET /plan and DELETE /plan?mount=: several plans' figures. */
public record PlanList(List<PlanStatus> plans) {
  public PlanList {
    plans = plans == null ? List.of() : List.copyOf(plans);
  }
}
