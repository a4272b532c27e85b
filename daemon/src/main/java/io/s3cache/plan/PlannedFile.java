package io.s3cache.plan;

import io.s3cache.s3.ObjectMeta;

/**
 * One file of an epoch plan.
 *
 * @param path the path inside the mount as the filesystem sees it ("/cls/img1.jpg")
 * @param meta the object version it names when the plan was made
 */
public record PlannedFile(String path, ObjectMeta meta) {}
