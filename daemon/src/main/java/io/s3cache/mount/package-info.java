/**
 * One bucket mounted and the cache its mounts share. {@link io.s3cache.mount.MountSpec} is a mount's
 * typed settings; {@link io.s3cache.mount.CacheRuntime} the shared cache (tiers, index, read-ahead)
 * of a process; {@link io.s3cache.mount.BucketMount} opens a mount's client, filesystem and FUSE
 * mount over it and closes them in reverse. Each mount reads the shared cache through a view of its
 * own: its misses are fetched with its own client, settings and credentials ({@code MountSource},
 * which also fails a block again at once right after its fetch found no answer), and cached blocks
 * reach it only once its own credentials may read them ({@code GrantedBlocks}).
 */
package io.s3cache.mount;
