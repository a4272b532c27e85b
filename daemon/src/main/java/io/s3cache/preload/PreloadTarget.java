package io.s3cache.preload;

import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectClientException;
import io.s3cache.s3.ObjectMeta;

/**
 * What one preload path names in S3: a single object ({@code prefix == false}) or everything under
 * a key prefix ending in "/" (or "" for a whole bucket), read through {@code client}.
 *
 * @param meta the single object's size and ETag when the mount's metadata already knows them (a
 *     path in a mount), so preload sends no HEAD for it; null to ask S3
 */
public record PreloadTarget(ObjectClient client, String key, boolean prefix, ObjectMeta meta) {

  public PreloadTarget(ObjectClient client, String key, boolean prefix) {
    this(client, key, prefix, null);
  }

  /** The single object: as known ({@code meta}), else a HEAD. */
  public ObjectMeta object() throws ObjectClientException {
    return meta != null ? meta : client.head(key);
  }
}
