/**
 * The FUSE port of s3cache: the {@link io.s3cache.fuse.Filesystem} interface (no native types),
 * errno-carrying {@link io.s3cache.fuse.FsException}, the thin jnr-fuse adapter that maps callbacks
 * onto the port, and mounting/unmounting ({@link io.s3cache.fuse.FuseMount}, {@link
 * io.s3cache.fuse.MountTable}).
 */
package io.s3cache.fuse;
