/**
 * The FUSE port of s3cache: the {@link io.s3cache.fuse.Filesystem} interface (no native types),
 * errno-carrying {@link io.s3cache.fuse.FsException}, typed open(2) flags ({@link
 * io.s3cache.fuse.OpenFlags}, the one place {@code O_*} values are spelled out), the thin jnr-fuse adapter that maps callbacks
 * onto the port, and mounting/unmounting ({@link io.s3cache.fuse.FuseMount}, {@link
 * io.s3cache.fuse.MountTable}).
 */
package io.s3cache.fuse;
