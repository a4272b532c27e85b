package io.s3cache.fs;

import io.s3cache.s3.ObjectMeta;
import java.time.Instant;

/**
 * What a path is: a file (an object version), a directory (a prefix with something under it, or a
 * marker object "a/"), or nothing. Negative answers are cached like positive ones.
 */
public sealed interface Node {

  record File(ObjectMeta meta) implements Node {}

  /** @param mtime S3 has no directory times: the time the filesystem was mounted */
  record Directory(Instant mtime) implements Node {}

  record Absent() implements Node {}

  Absent ABSENT = new Absent();
}
