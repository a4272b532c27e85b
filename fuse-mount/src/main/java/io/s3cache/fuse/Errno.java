package io.s3cache.fuse;

/**
 * The error numbers the filesystem port may return. Names follow Linux; the adapter maps each to the
 * platform's value, so the port carries no native constants.
 */
public enum Errno {
  EPERM,
  ENOENT,
  EIO,
  EBADF,
  EACCES,
  EEXIST,
  ENOTDIR,
  EISDIR,
  EINVAL,
  ENOSPC,
  EROFS,
  ERANGE,
  ENAMETOOLONG,
  ENOSYS,
  ENOTEMPTY,
  ENODATA,
  ENOTSUP,
  ETIMEDOUT,
  ESTALE,
  EXDEV,
  EFBIG
}
