package io.s3cache.fuse;

import java.util.List;

/** A filesystem for mount tests: no extended attributes, a one-block statfs; the rest is the test's. */
interface TestFilesystem extends Filesystem {

  @Override
  default FsStatistics statfs(String path) {
    return new FsStatistics(4096, 1, 0, 1, 0, 255);
  }

  @Override
  default byte[] getxattr(String path, String name) throws FsException {
    throw new FsException(Errno.ENODATA, name);
  }

  @Override
  default List<String> listxattr(String path) {
    return List.of();
  }
}
