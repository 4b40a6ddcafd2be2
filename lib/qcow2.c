/* qcow2.c: reading qcow2 headers for format and backing file, and writing
 * the empty overlays of linked clones. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include "fileio.h"
#include "qcow2.h"
#include "unpack.h"

#define QCOW2_MAGIC 0x514649fbu          /* "QFI\xfb" */
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_MAX_BACKING_NAME 1023      /* qemu's own limit */
#define OV_MAX_L1_BYTES ((uint64_t) 32 << 20) /* qemu's QCOW_MAX_L1_SIZE */

static uint32_t
be32 (const unsigned char *p)
{
  return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static uint64_t
be64 (const unsigned char *p)
{
  return (uint64_t) be32 (p) << 32 | be32 (p + 4);
}

static void
put32 (unsigned char *p, uint32_t v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static void
put64 (unsigned char *p, uint64_t v)
{
  put32 (p, v >> 32);
  put32 (p + 4, (uint32_t) v);
}

static int
read_at (int fd, void *buf, size_t len, off_t off)
{
  ssize_t r = pread (fd, buf, len, off);

  return r == (ssize_t) len ? 0 : -1;
}

/* PATH opened read-only, or -1 with ERR (NOT_FOUND when it is missing). */
static int
open_ro (const char *path, GError **err)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);

  if (fd == -1) {
    int e = errno;
    g_set_error (err, KILN_ERROR, e == ENOENT ? KILN_ERROR_NOT_FOUND : KILN_ERROR_FAILED,
                 "cannot open %s: %s", path, g_strerror (e));
  }
  return fd;
}

char *
kiln_image_file_format (const char *path, GError **err)
{
  unsigned char h[16] = { 0 };
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  ssize_t r;

  if (fd == -1) {
    int e = errno;
    g_set_error (err, KILN_ERROR, e == ENOENT ? KILN_ERROR_NOT_FOUND : KILN_ERROR_FAILED,
                 "cannot open %s: %s", path, g_strerror (e));
    return NULL;
  }
  r = pread (fd, h, sizeof h, 0);
  close (fd);
  return g_strdup (kiln_image_format (h, r > 0 ? (size_t) r : 0));
}

int
kiln_qcow2_backing (const char *path, char **backing, char **format, GError **err)
{
  unsigned char h[104];
  uint64_t name_off, ext_off;
  uint32_t name_len, version;
  g_autofree char *name = NULL, *fmt = NULL;
  int fd;

  *backing = NULL;
  if (format)
    *format = NULL;
  fd = open_ro (path, err);
  if (fd == -1)
    return -1;
  memset (h, 0, sizeof h);
  if (pread (fd, h, sizeof h, 0) < 72 || be32 (h) != QCOW2_MAGIC) {
    close (fd);
    return 0;
  }
  version = be32 (h + 4);
  name_off = be64 (h + 8);
  name_len = be32 (h + 16);
  if (name_off == 0 || name_len == 0) {
    close (fd);
    return 0;
  }
  if (name_len > QCOW2_MAX_BACKING_NAME) {
    close (fd);
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "%s: corrupt qcow2 header (backing file name of %u bytes)", path, name_len);
    return -1;
  }
  name = g_malloc0 (name_len + 1);
  if (read_at (fd, name, name_len, (off_t) name_off) == -1) {
    close (fd);
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "%s: corrupt qcow2 header (backing file name out of the file)", path);
    return -1;
  }
  /* Header extensions follow the header (72 bytes in v2, header_length
   * in v3); the backing format is one of them. */
  ext_off = version >= 3 ? be32 (h + 100) : 72;
  for (int i = 0; format && i < 64 && ext_off < name_off; i++) {
    unsigned char eh[8];
    uint32_t type, len;

    if (read_at (fd, eh, sizeof eh, (off_t) ext_off) == -1)
      break;
    type = be32 (eh);
    len = be32 (eh + 4);
    if (type == 0)
      break;
    if (type == QCOW2_EXT_BACKING_FORMAT && len > 0 && len < 64) {
      fmt = g_malloc0 (len + 1);
      if (read_at (fd, fmt, len, (off_t) ext_off + 8) == -1)
        g_clear_pointer (&fmt, g_free);
      break;
    }
    ext_off += 8 + ((len + 7) & ~7u);
  }
  close (fd);

  if (g_path_is_absolute (name)) {
    *backing = g_steal_pointer (&name);
  } else {
    g_autofree char *dir = g_path_get_dirname (path);
    *backing = g_build_filename (dir, name, NULL);
  }
  if (format)
    *format = g_steal_pointer (&fmt);
  return 0;
}

int
kiln_qcow2_empty_overlay (const char *path, guint64 *size, GError **err)
{
  unsigned char h[104];
  g_autofree unsigned char *l1 = NULL;
  uint64_t l1_off, l1_bytes;
  uint32_t version;
  ssize_t got;
  int fd = open_ro (path, err);

  if (fd == -1)
    return -1;
  memset (h, 0, sizeof h);
  got = pread (fd, h, sizeof h, 0);
  version = be32 (h + 4);
  if (got < 72 || be32 (h) != QCOW2_MAGIC || (version != 2 && version != 3) ||
      (version == 3 && got < 80) ||
      be64 (h + 8) == 0 || be32 (h + 16) == 0 ||          /* no backing file */
      be32 (h + 32) != 0 ||                              /* crypt_method */
      be32 (h + 60) != 0 ||                              /* nb_snapshots */
      (version == 3 && be64 (h + 72) != 0)) {            /* incompatible_features */
    close (fd);
    return 0;
  }
  l1_bytes = (uint64_t) be32 (h + 36) * 8;
  l1_off = be64 (h + 40);
  if (l1_bytes > OV_MAX_L1_BYTES) {
    close (fd);
    return 0;
  }
  if (l1_bytes) {
    l1 = g_malloc (l1_bytes);
    if (l1_off > G_MAXINT64 - l1_bytes || read_at (fd, l1, l1_bytes, (off_t) l1_off) == -1) {
      close (fd);
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                   "%s: corrupt qcow2 header (L1 table out of the file)", path);
      return -1;
    }
    for (uint64_t i = 0; i < l1_bytes; i++)
      if (l1[i] != 0) {
        close (fd);
        return 0;
      }
  }
  close (fd);
  if (size)
    *size = be64 (h + 24);
  return 1;
}

int
kiln_qcow2_incompatible (const char *path, guint64 *features, GError **err)
{
  unsigned char h[80] = { 0 };
  int fd = open_ro (path, err);

  *features = 0;
  if (fd == -1)
    return -1;
  if (read_at (fd, h, sizeof h, 0) == 0 && be32 (h) == QCOW2_MAGIC && be32 (h + 4) >= 3)
    *features = be64 (h + 72);
  close (fd);
  return 0;
}

GPtrArray *
kiln_image_chain (const char *path, GError **err)
{
  g_autoptr (GPtrArray) chain = g_ptr_array_new_with_free_func (g_free);
  char *cur = kiln_path_canonical (path);

  for (int depth = 0; cur; depth++) {
    char *next = NULL;

    if (depth == 64) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                   "%s: backing chain deeper than 64 (a loop?)", path);
      g_free (cur);
      return NULL;
    }
    g_ptr_array_add (chain, cur);
    if (kiln_qcow2_backing (cur, &next, NULL, err) == -1)
      return NULL;
    if (next) {
      cur = kiln_path_canonical (next);
      g_free (next);
    } else {
      cur = NULL;
    }
  }
  return g_steal_pointer (&chain);
}

gint64
kiln_image_virtual_size (const char *path, const char *format, GError **err)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  gint64 size = -1;

  if (fd == -1 || fstat (fd, &st) == -1) {
    int e = errno;
    g_set_error (err, KILN_ERROR, e == ENOENT ? KILN_ERROR_NOT_FOUND : KILN_ERROR_FAILED,
                 "cannot open %s: %s", path, g_strerror (e));
    if (fd != -1)
      close (fd);
    return -1;
  }
  if (strcmp (format, "qcow2") == 0) {
    unsigned char h[32];

    if (read_at (fd, h, sizeof h, 0) == 0 && be32 (h) == QCOW2_MAGIC &&
        be64 (h + 24) <= G_MAXINT64)
      size = (gint64) be64 (h + 24);
    else
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: not a qcow2 image", path);
  } else if (strcmp (format, "raw") == 0) {
    uint64_t bytes = 0;

    if (S_ISREG (st.st_mode))
      size = st.st_size;
    else if (S_ISBLK (st.st_mode) && ioctl (fd, BLKGETSIZE64, &bytes) == 0)
      size = (gint64) bytes;
    else
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                   "%s: neither a file nor a block device", path);
  } else {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "%s: the virtual size of a %s image is not read here", path, format);
  }
  close (fd);
  return size;
}

/* qcow2 overlays as qemu-img makes them: 64 KiB clusters, 16-bit
 * refcounts; cluster 0 holds the header, its extensions and the backing
 * name, cluster 1 the refcount table, cluster 2 its one refcount block,
 * clusters 3.. the L1 table, all zero (nothing allocated). */
#define OV_CLUSTER_BITS 16
#define OV_CLUSTER ((uint64_t) 1 << OV_CLUSTER_BITS)
#define OV_HEADER_LEN 112u                   /* version 3 with compression_type (zlib) */

int
kiln_qcow2_write_overlay (int fd, guint64 size, const char *backing,
                          const char *backing_format, GError **err)
{
  const uint64_t per_l2 = OV_CLUSTER * (OV_CLUSTER / 8);    /* bytes an L2 table maps */
  size_t name_len = strlen (backing), fmt_len = strlen (backing_format);
  uint64_t l1_entries, l1_clusters, n_clusters, pos;
  size_t fmt_ext = 8 + ((fmt_len + 7) & ~(size_t) 7);
  g_autofree unsigned char *buf = NULL;

  if (name_len == 0 || name_len > QCOW2_MAX_BACKING_NAME) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "backing file name of %zu bytes (qcow2 allows 1 to %d)",
                 name_len, QCOW2_MAX_BACKING_NAME);
    return -1;
  }
  if (fmt_len == 0 || fmt_len > 16) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "bad backing format '%s'", backing_format);
    return -1;
  }
  if (size > ((uint64_t) 1 << 62)) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "a virtual size of %" G_GUINT64_FORMAT " bytes is too large for qcow2", size);
    return -1;
  }
  size = (size + 511) & ~(uint64_t) 511;   /* whole sectors, as qemu rounds */
  l1_entries = (size + per_l2 - 1) / per_l2;
  if (l1_entries * 8 > OV_MAX_L1_BYTES) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "a virtual size of %" G_GUINT64_FORMAT " bytes is too large for qcow2", size);
    return -1;
  }
  l1_clusters = (l1_entries * 8 + OV_CLUSTER - 1) / OV_CLUSTER;
  n_clusters = 3 + l1_clusters;            /* at most 515: one refcount block is enough */

  buf = g_malloc0 (3 * OV_CLUSTER);
  /* Header. */
  put32 (buf, QCOW2_MAGIC);
  put32 (buf + 4, 3);                                          /* version */
  pos = OV_HEADER_LEN + fmt_ext + 8;                           /* after the extensions */
  put64 (buf + 8, pos);                                        /* backing_file_offset */
  put32 (buf + 16, (uint32_t) name_len);                       /* backing_file_size */
  put32 (buf + 20, OV_CLUSTER_BITS);
  put64 (buf + 24, size);
  put32 (buf + 32, 0);                                         /* no encryption */
  put32 (buf + 36, (uint32_t) l1_entries);                     /* l1_size */
  put64 (buf + 40, l1_entries ? 3 * OV_CLUSTER : 0);          /* l1_table_offset */
  put64 (buf + 48, 1 * OV_CLUSTER);                            /* refcount_table_offset */
  put32 (buf + 56, 1);                                         /* refcount_table_clusters */
  /* 60 nb_snapshots, 64 snapshots_offset, 72 incompatible, 80 compatible
   * and 88 autoclear features: all zero. */
  put32 (buf + 96, 4);                                         /* refcount_order: 16 bits */
  put32 (buf + 100, OV_HEADER_LEN);
  /* 104 compression_type 0 (zlib), 105..111 padding. */
  /* The backing format extension, then the end of the extensions. */
  put32 (buf + OV_HEADER_LEN, QCOW2_EXT_BACKING_FORMAT);
  put32 (buf + OV_HEADER_LEN + 4, (uint32_t) fmt_len);
  memcpy (buf + OV_HEADER_LEN + 8, backing_format, fmt_len);
  /* (the 8 zero bytes at OV_HEADER_LEN + fmt_ext end the list) */
  memcpy (buf + pos, backing, name_len);
  /* Refcount table: its one block is cluster 2. */
  put64 (buf + OV_CLUSTER, 2 * OV_CLUSTER);
  /* Refcount block: every cluster of the file is used once. */
  for (uint64_t c = 0; c < n_clusters; c++) {
    unsigned char *r = buf + 2 * OV_CLUSTER + 2 * c;
    r[0] = 0;
    r[1] = 1;
  }

  /* Zero blocks of the three clusters and the zero L1 table: holes. */
  if (kiln_write_sparse (fd, buf, 3 * OV_CLUSTER, err) == -1) {
    g_prefix_error (err, "the qcow2 header: ");
    return -1;
  }
  if (ftruncate (fd, (off_t) (n_clusters * OV_CLUSTER)) == -1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot size the qcow2 image: %s",
                 g_strerror (errno));
    return -1;
  }
  return 0;
}
