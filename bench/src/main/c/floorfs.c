/*
 * floorfs: the FUSE floor of `s3cache bench`. A read-only FUSE filesystem that loads every regular
 * file under SRCDIR into memory at start, presents the same tree with the same sizes, and answers
 * each read with one memcpy. Nothing is cheaper for a FUSE filesystem, so what a reader gets
 * through it is what the kernel's FUSE path (and libfuse) leaves of local disk on this machine:
 * the bound s3cache's warm rows are measured against.
 *
 *   floorfs [--direct-io] SRCDIR MOUNTPOINT [libfuse options, e.g. -f -o ro,kernel_cache]
 *
 * Built against libfuse2 (FUSE_USE_VERSION 26, the library s3cache's jnr-fuse calls) by default,
 * or libfuse3 with -DFLOORFS_FUSE3. kernel_cache and the timeouts come from the -o options, which
 * both libraries parse into the same settings; --direct-io makes every open direct_io (libfuse3's
 * high-level library has no -o direct_io), so reads bypass the page cache.
 */
#ifdef FLOORFS_FUSE3
#define FUSE_USE_VERSION 31
#else
#define FUSE_USE_VERSION 26
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One file or directory; paths as FUSE names them ("/", "/small/d00/f00000.jpg"). */
struct node {
  char *path;
  int parent;          /* index of the directory holding it; -1 for the root */
  int is_dir;
  char *data;          /* the whole file, NULL for a directory or an empty file */
  off_t size;
  struct timespec mtime;
};

static int direct_io;
static struct node *nodes;
static size_t count;
static size_t capacity;

static void die(const char *what, const char *path) {
  fprintf(stderr, "floorfs: %s %s: %s\n", what, path, strerror(errno));
  exit(1);
}

static void add(const char *path, const struct stat *st, char *data) {
  if (count == capacity) {
    capacity = capacity ? 2 * capacity : 1024;
    nodes = realloc(nodes, capacity * sizeof *nodes);
    if (!nodes) die("out of memory at", path);
  }
  struct node *n = &nodes[count++];
  n->path = strdup(path);
  n->parent = -1;
  n->is_dir = S_ISDIR(st->st_mode);
  n->data = data;
  n->size = n->is_dir ? 0 : st->st_size;
  n->mtime = st->st_mtim;
}

static char *load_file(const char *file, off_t size) {
  if (size == 0) return NULL;
  char *data = malloc(size);
  if (!data) die("out of memory loading", file);
  int fd = open(file, O_RDONLY);
  if (fd < 0) die("cannot open", file);
  for (off_t done = 0; done < size;) {
    ssize_t n = read(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die("cannot read", file);
    done += n;
  }
  close(fd);
  return data;
}

/* Adds everything under src/rel (rel: "" or "/a/b"); symlinks and special files are left out. */
static void walk(const char *src, const char *rel) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s%s", src, rel);
  DIR *d = opendir(dir);
  if (!d) die("cannot list", dir);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char child[PATH_MAX], full[PATH_MAX];
    snprintf(child, sizeof child, "%s/%s", rel, e->d_name);
    snprintf(full, sizeof full, "%s%s", src, child);
    struct stat st;
    if (lstat(full, &st) < 0) die("cannot stat", full);
    if (S_ISREG(st.st_mode)) {
      add(child, &st, load_file(full, st.st_size));
    } else if (S_ISDIR(st.st_mode)) {
      add(child, &st, NULL);
      walk(src, child);
    }
  }
  closedir(d);
}

static int by_path(const void *a, const void *b) {
  return strcmp(((const struct node *)a)->path, ((const struct node *)b)->path);
}

static int find(const char *path) {
  struct node key = {.path = (char *)path};
  struct node *n = bsearch(&key, nodes, count, sizeof *nodes, by_path);
  return n ? (int)(n - nodes) : -1;
}

/* Sorts the nodes by path (for bsearch) and links each to its directory (for readdir). */
static void index_tree(void) {
  qsort(nodes, count, sizeof *nodes, by_path);
  for (size_t i = 0; i < count; i++) {
    if (!strcmp(nodes[i].path, "/")) continue;
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", nodes[i].path);
    char *slash = strrchr(parent, '/');
    if (slash == parent) slash[1] = '\0'; else *slash = '\0';
    nodes[i].parent = find(parent);
  }
}

static void fill_stat(const struct node *n, struct stat *st) {
  memset(st, 0, sizeof *st);
  st->st_mode = n->is_dir ? S_IFDIR | 0555 : S_IFREG | 0444;
  st->st_nlink = n->is_dir ? 2 : 1;
  st->st_size = n->size;
  st->st_blocks = (n->size + 511) / 512;
  st->st_mtim = n->mtime;
  st->st_atim = n->mtime;
  st->st_ctim = n->mtime;
  st->st_uid = getuid();
  st->st_gid = getgid();
}

#ifdef FLOORFS_FUSE3
static int ff_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
  (void)fi;
#else
static int ff_getattr(const char *path, struct stat *st) {
#endif
  int i = find(path);
  if (i < 0) return -ENOENT;
  fill_stat(&nodes[i], st);
  return 0;
}

#ifdef FLOORFS_FUSE3
static int ff_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi,
                      enum fuse_readdir_flags flags) {
  (void)flags;
#define FILL(name, st) fill(buf, name, st, 0, 0)
#else
static int ff_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi) {
#define FILL(name, st) fill(buf, name, st, 0)
#endif
  (void)off;
  (void)fi;
  int dir = find(path);
  if (dir < 0) return -ENOENT;
  if (!nodes[dir].is_dir) return -ENOTDIR;
  FILL(".", NULL);
  FILL("..", NULL);
  for (size_t i = 0; i < count; i++) {
    if (nodes[i].parent == dir) {
      struct stat st;
      fill_stat(&nodes[i], &st);
      if (FILL(strrchr(nodes[i].path, '/') + 1, &st)) break;
    }
  }
  return 0;
}

static int ff_open(const char *path, struct fuse_file_info *fi) {
  int i = find(path);
  if (i < 0) return -ENOENT;
  if (nodes[i].is_dir) return -EISDIR;
  if ((fi->flags & O_ACCMODE) != O_RDONLY) return -EROFS;
  fi->fh = (uint64_t)i;
  if (direct_io) fi->direct_io = 1;
  return 0;
}

/* The whole work of a read: one copy from memory. */
static int ff_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)path;
  const struct node *n = &nodes[fi->fh];
  if (off >= n->size) return 0;
  if ((off_t)size > n->size - off) size = n->size - off;
  memcpy(buf, n->data + off, size);
  return (int)size;
}

static int ff_release(const char *path, struct fuse_file_info *fi) {
  (void)path;
  (void)fi;
  return 0;
}

static const struct fuse_operations ops = {
    .getattr = ff_getattr,
    .readdir = ff_readdir,
    .open = ff_open,
    .read = ff_read,
    .release = ff_release,
};

int main(int argc, char *argv[]) {
  if (argc > 1 && !strcmp(argv[1], "--direct-io")) {
    direct_io = 1;
    argv[1] = argv[0];
    argc--;
    argv++;
  }
  if (argc < 3) {
    fprintf(stderr, "usage: %s [--direct-io] SRCDIR MOUNTPOINT [libfuse options]\n", argv[0]);
    return 2;
  }
  const char *src = argv[1];
  struct stat st;
  if (stat(src, &st) < 0 || !S_ISDIR(st.st_mode)) die("not a directory:", src);
  add("/", &st, NULL);
  walk(src, "");
  index_tree();
  /* Every loaded page read once before mounting: on our VMs the first touch of freshly loaded
   * memory cost ~2 s of CPU per GiB (the first dd through the mount ran at ~0.6 instead of
   * ~2.5 GB/s), which is not FUSE's cost. */
  volatile unsigned char sink = 0;
  off_t bytes = 0;
  for (size_t i = 0; i < count; i++) {
    for (off_t j = 0; j < nodes[i].size; j += 4096) sink ^= (unsigned char)nodes[i].data[j];
    bytes += nodes[i].size;
  }
  (void)sink;
  fprintf(stderr, "floorfs: %zu entries, %lld bytes from %s in memory\n", count, (long long)bytes, src);
  argv[1] = argv[0]; /* libfuse sees: floorfs MOUNTPOINT [options] */
  return fuse_main(argc - 1, argv + 1, &ops, NULL);
}
