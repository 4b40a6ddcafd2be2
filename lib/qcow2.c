/* qcow2.c: reading qcow2 headers for format and backing file. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2.h"
#include "unpack.h"

#define QCOW2_MAGIC 0x514649fbu          /* "QFI\xfb" */
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_MAX_BACKING_NAME 1023      /* qemu's own limit */

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

static int
read_at (int fd, void *buf, size_t len, off_t off)
{
  ssize_t r = pread (fd, buf, len, off);

  return r == (ssize_t) len ? 0 : -1;
}

char *
kiln_path_canonical (const char *path)
{
  char *r = realpath (path, NULL);
  g_autofree char *abs = NULL;

  if (r) {
    char *g = g_strdup (r);
    free (r);
    return g;
  }
  abs = g_canonicalize_filename (path, NULL);
  return g_steal_pointer (&abs);
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
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd == -1) {
    int e = errno;
    g_set_error (err, KILN_ERROR, e == ENOENT ? KILN_ERROR_NOT_FOUND : KILN_ERROR_FAILED,
                 "cannot open %s: %s", path, g_strerror (e));
    return -1;
  }
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
