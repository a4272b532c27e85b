package io.s3cache.s3;

import java.util.List;

/**
 * One page of a LIST.
 *
 * @param objects objects directly under the prefix (keys are full keys)
 * @param commonPrefixes full prefixes ending in the delimiter, e.g. {@code "data/train/"}
 * @param nextContinuationToken null when this is the last page
 */
public record ListPage(List<ObjectMeta> objects, List<String> commonPrefixes, String nextContinuationToken) {
  public ListPage {
    objects = List.copyOf(objects);
    commonPrefixes = List.copyOf(commonPrefixes);
  }
}
