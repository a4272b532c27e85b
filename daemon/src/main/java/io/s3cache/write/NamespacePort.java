package io.s3cache.write;

import io.s3cache.fs.Node;
import io.s3cache.fuse.FsException;
import io.s3cache.s3.ObjectClientException;

/**
 * What the write path asks of the mount's namespace (implemented in {@code io.s3cache.fs}): the key
 * of a path, what a path is now, and being told what a change it made in S3 left there, so that
 * stat and listings see it at once.
 */
public interface NamespacePort {

  /** The key (files) or key prefix without trailing slash (directories) of a mount path. */
  String key(String path);

  /** What {@code path} is: a file, a directory or absent (from the metadata cache, else S3). */
  Node resolve(String path) throws FsException;

  /** Fails with ENOENT or ENOTDIR unless {@code path}'s parent is an existing directory. */
  void requireParentDirectory(String path) throws FsException;

  /** This mount wrote {@code path}: it is now {@code node} (a file, a new directory, or ABSENT). */
  void written(String path, Node node);

  /** This mount removed a directory: everything cached under it goes, and it is absent now. */
  void removedDirectory(String path);

  /** Forgets what is cached about a path and its parent's listing (it is known to have changed). */
  void forget(String path);

  /** The error a FUSE call returns when S3 refused {@code op} on {@code path}. */
  FsException s3Failed(String op, String path, ObjectClientException e);
}
