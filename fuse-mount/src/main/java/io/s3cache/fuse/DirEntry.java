package io.s3cache.fuse;

/** One name in a directory listing, with its attributes so the kernel can skip a getattr. */
public record DirEntry(String name, FileAttributes attributes) {}
