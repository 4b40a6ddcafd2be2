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
#include "fileio.h"
#include "qcow2.h"

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
 * and one fsync, where qemu-img (what guestfs_disk_create runs)
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
  /* kiln_temp_publish syncs it before it takes its name. */
  if (close (fd) == -1 && r == 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot write %s: %s", tmp,
                 g_strerror (errno));
    r = -1;
  }
  return r;
}

int
kiln_disk_write_overlay (const char *tmp, const char *path, const char *backing,
                         const char *backing_format, GError **err)
{
  guestfs_h *g;
  int r;

  if (strcmp (backing_format, "qcow2") == 0 || strcmp (backing_format, "raw") == 0) {
    g_autoptr (GError) e = NULL;

    if (write_overlay (tmp, backing, backing_format, &e) == -1) {
      g_set_error (err, KILN_ERROR, e->code, "cannot create overlay %s on %s: %s",
                   path, backing, e->message);
      return -1;
    }
    return 0;
  }
  /* Other formats: qemu-img knows how to read their size. */
  g = quiet_handle (err);
  if (g == NULL)
    return -1;
  r = guestfs_disk_create (g, tmp, "qcow2", -1,
                           GUESTFS_DISK_CREATE_BACKINGFILE, backing,
                           GUESTFS_DISK_CREATE_BACKINGFORMAT, backing_format,
                           -1);
  if (r == -1)
    g_set_error (err, KILN_ERROR, KILN_ERROR_GUEST, "cannot create overlay %s on %s: %s",
                 path, backing, guestfs_last_error (g));
  guestfs_close (g);
  return r == -1 ? -1 : 0;
}

int
kiln_disk_create_overlay (const char *path, const char *backing,
                          const char *backing_format, bool replace, GError **err)
{
  g_autofree char *tmp = kiln_temp_beside (path, 0600, err);

  if (tmp == NULL)
    return -1;
  if (kiln_disk_write_overlay (tmp, path, backing, backing_format, err) == -1) {
    kiln_temp_discard (tmp);
    return -1;
  }
  return kiln_temp_publish (tmp, path, replace, err);
}

int
kiln_disk_create_empty (const char *path, const char *format, gint64 size, GError **err)
{
  g_autofree char *tmp = kiln_temp_beside (path, 0600, err);
  guestfs_h *g;

  if (tmp == NULL)
    return -1;
  g = quiet_handle (err);
  if (g == NULL) {
    kiln_temp_discard (tmp);
    return -1;
  }
  if (guestfs_disk_create (g, tmp, format, size, -1) == -1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_GUEST, "cannot create disk %s: %s",
                 path, guestfs_last_error (g));
    guestfs_close (g);
    kiln_temp_discard (tmp);
    return -1;
  }
  guestfs_close (g);
  return kiln_temp_publish (tmp, path, false, err);
}
