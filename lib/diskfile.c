/* diskfile.c: disk files made atomically under their final names. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>
#include <guestfs.h>

#include "diskfile.h"
#include "qcow2.h"

/* DIR/.BASE.kiln-XXXXXX beside PATH, created empty (so the name is ours). */
static char *
temp_beside (const char *path, GError **err)
{
  g_autofree char *dir = g_path_get_dirname (path), *base = g_path_get_basename (path);
  g_autofree char *tmpl = g_strdup_printf ("%s/.%s.kiln-XXXXXX", dir, base);
  int fd = g_mkstemp_full (tmpl, O_RDWR | O_CLOEXEC, 0600);

  if (fd == -1) {
    int e = errno;
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot create a file in %s: %s",
                 dir, g_strerror (e));
    return NULL;
  }
  close (fd);
  return g_steal_pointer (&tmpl);
}

/* Move TMP to PATH; unless REPLACE, never over an existing PATH. */
static int
publish (const char *tmp, const char *path, bool replace, GError **err)
{
  if (renameat2 (AT_FDCWD, tmp, AT_FDCWD, path, replace ? 0 : RENAME_NOREPLACE) == 0)
    return 0;
  {
    int e = errno;
    unlink (tmp);
    g_set_error (err, KILN_ERROR, e == EEXIST ? KILN_ERROR_EXISTS : KILN_ERROR_FAILED,
                 "cannot create %s: %s%s", path, g_strerror (e),
                 e == EEXIST ? " (remove it, or choose another --file)" : "");
  }
  return -1;
}

static guestfs_h *
quiet_handle (GError **err)
{
  guestfs_h *g = guestfs_create_flags (GUESTFS_CREATE_NO_ENVIRONMENT);

  if (g == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_GUEST, "cannot create a libguestfs handle");
    return NULL;
  }
  guestfs_set_error_handler (g, NULL, NULL);
  return g;
}

/* An overlay written by lib/qcow2.c: a linked clone costs a few writes
 * and one fdatasync, where qemu-img (what guestfs_disk_create runs)
 * costs a process.  0, or -1 with ERR. */
static int
write_overlay (const char *tmp, const char *backing, const char *backing_format,
               GError **err)
{
  gint64 size = kiln_image_virtual_size (backing, backing_format, err);
  int fd, r;

  if (size < 0)
    return -1;
  fd = open (tmp, O_WRONLY | O_CLOEXEC);
  if (fd == -1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot open %s: %s", tmp,
                 g_strerror (errno));
    return -1;
  }
  r = kiln_qcow2_write_overlay (fd, (guint64) size, backing, backing_format, err);
  /* On the disk before it takes its name: a crash never leaves an empty
   * file where a clone's disk should be. */
  if (r == 0 && fdatasync (fd) == -1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot write %s: %s", tmp,
                 g_strerror (errno));
    r = -1;
  }
  if (close (fd) == -1 && r == 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot write %s: %s", tmp,
                 g_strerror (errno));
    r = -1;
  }
  return r;
}

int
kiln_disk_create_overlay (const char *path, const char *backing,
                          const char *backing_format, bool replace, GError **err)
{
  g_autofree char *tmp = temp_beside (path, err);
  guestfs_h *g;
  int r;

  if (tmp == NULL)
    return -1;
  if (strcmp (backing_format, "qcow2") == 0 || strcmp (backing_format, "raw") == 0) {
    g_autoptr (GError) e = NULL;

    if (write_overlay (tmp, backing, backing_format, &e) == -1) {
      g_set_error (err, KILN_ERROR, e->code, "cannot create overlay %s on %s: %s",
                   path, backing, e->message);
      unlink (tmp);
      return -1;
    }
    return publish (tmp, path, replace, err);
  }
  /* Other formats: qemu-img knows how to read their size. */
  g = quiet_handle (err);
  if (g == NULL) {
    unlink (tmp);
    return -1;
  }
  r = guestfs_disk_create (g, tmp, "qcow2", -1,
                           GUESTFS_DISK_CREATE_BACKINGFILE, backing,
                           GUESTFS_DISK_CREATE_BACKINGFORMAT, backing_format,
                           -1);
  if (r == -1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_GUEST, "cannot create overlay %s on %s: %s",
                 path, backing, guestfs_last_error (g));
    guestfs_close (g);
    unlink (tmp);
    return -1;
  }
  guestfs_close (g);
  return publish (tmp, path, replace, err);
}

int
kiln_disk_create_empty (const char *path, const char *format, gint64 size, GError **err)
{
  g_autofree char *tmp = temp_beside (path, err);
  guestfs_h *g;

  if (tmp == NULL)
    return -1;
  g = quiet_handle (err);
  if (g == NULL) {
    unlink (tmp);
    return -1;
  }
  if (guestfs_disk_create (g, tmp, format, size, -1) == -1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_GUEST, "cannot create disk %s: %s",
                 path, guestfs_last_error (g));
    guestfs_close (g);
    unlink (tmp);
    return -1;
  }
  guestfs_close (g);
  return publish (tmp, path, false, err);
}

/* Copy the data extents of IN to OUT; holes stay holes because OUT was
 * truncated to the full size first and only data is written. */
static int
copy_extents (int in, int out, off_t size, const char *src, GError **err)
{
  off_t pos = 0;

  while (pos < size) {
    off_t data = lseek (in, pos, SEEK_DATA), hole;

    if (data == -1) {
      if (errno == ENXIO)
        break;                       /* only a hole is left */
      goto fail;
    }
    hole = lseek (in, data, SEEK_HOLE);
    if (hole == -1)
      goto fail;
    for (loff_t ip = data, op = data; ip < hole;) {
      ssize_t n = copy_file_range (in, &ip, out, &op, (size_t) (hole - ip), 0);

      if (n == -1)
        goto fail;
      if (n == 0)
        break;
    }
    pos = hole;
  }
  return 0;
fail:
  g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot copy %s: %s", src, g_strerror (errno));
  return -1;
}

int
kiln_file_copy_sparse (const char *src, const char *dst, mode_t mode, bool replace,
                       GError **err)
{
  g_autofree char *tmp = NULL;
  struct stat st;
  int in, out = -1;

  in = open (src, O_RDONLY | O_CLOEXEC);
  if (in == -1 || fstat (in, &st) == -1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot read %s: %s", src, g_strerror (errno));
    if (in != -1)
      close (in);
    return -1;
  }
  tmp = temp_beside (dst, err);
  if (tmp == NULL)
    goto fail_quiet;
  out = open (tmp, O_WRONLY | O_CLOEXEC);
  if (out == -1 || fchmod (out, mode) == -1)
    goto fail;
  /* A reflink shares every block, holes included, in one call. */
  if (ioctl (out, FICLONE, in) == -1) {
    if (ftruncate (out, st.st_size) == -1)
      goto fail;
    if (copy_extents (in, out, st.st_size, src, err) == -1)
      goto fail_quiet;
  }
  if (fsync (out) == -1)
    goto fail;
  if (close (out) == -1) {
    out = -1;
    goto fail;
  }
  close (in);
  return publish (tmp, dst, replace, err);

fail:
  g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot write %s: %s", dst, g_strerror (errno));
fail_quiet:
  if (out != -1)
    close (out);
  close (in);
  if (tmp)
    unlink (tmp);
  return -1;
}

gint64
kiln_parse_size (const char *s)
{
  char *end;
  guint64 v, mult = 1024 * 1024 * 1024;

  if (s == NULL || !g_ascii_isdigit (*s))
    return -1;
  errno = 0;
  v = g_ascii_strtoull (s, &end, 10);
  if (errno || end == s)
    return -1;
  switch (g_ascii_toupper (*end)) {
  case '\0': break;
  case 'K': mult = 1024; end++; break;
  case 'M': mult = 1024 * 1024; end++; break;
  case 'G': end++; break;
  case 'T': mult = (guint64) 1024 * 1024 * 1024 * 1024; end++; break;
  default: return -1;
  }
  if (*end == 'i' && end[1] == 'B')
    end += 2;
  else if (*end == 'B')
    end++;
  if (*end != '\0' || v == 0 || v > (guint64) G_MAXINT64 / mult)
    return -1;
  return (gint64) (v * mult);
}
