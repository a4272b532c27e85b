package io.s3cache.fuse;

/** One name in a directory listing; its attributes give the entry's type and inode to readdir. */
public record DirEntry(String name, FileAttributes attributes) {}
