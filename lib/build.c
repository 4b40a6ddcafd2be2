/* build.c: one output image from a verified base (see build.h).  The
 * image is made under a hidden temporary name in the output's directory,
 * so that the final rename is atomic and a failure at any point leaves
 * nothing behind but the untouched base. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/evp.h>

#include "build.h"
#include "guest.h"
#include "msg.h"

char *
kiln_file_sha256 (const char *path, GError **err)
{
  g_autoptr (GString) s = g_string_new ("sha256:");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  g_autofree char *buf = g_malloc (1 << 20);
  EVP_MD_CTX *md_ctx;
  ssize_t n;
  int fd;

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd == -1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_NOT_FOUND, "%s: %s", path, g_strerror (errno));
    return NULL;
  }
  md_ctx = EVP_MD_CTX_new ();
  if (md_ctx == NULL || !EVP_DigestInit_ex (md_ctx, EVP_sha256 (), NULL)) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot start a sha256 digest");
    goto fail;
  }
  while ((n = read (fd, buf, 1 << 20)) > 0)
    EVP_DigestUpdate (md_ctx, buf, n);
  if (n == -1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", path, g_strerror (errno));
    goto fail;
  }
  EVP_DigestFinal_ex (md_ctx, md, &mdlen);
  EVP_MD_CTX_free (md_ctx);
  close (fd);
  for (unsigned int i = 0; i < mdlen; i++)
    g_string_append_printf (s, "%02x", md[i]);
  return g_string_free (g_steal_pointer (&s), FALSE);

 fail:
  EVP_MD_CTX_free (md_ctx);
  close (fd);
  return NULL;
}

void
kiln_build_image_result_clear (struct kiln_build_image_result *res)
{
  g_clear_pointer (&res->digest, g_free);
  g_clear_pointer (&res->distro, g_free);
  g_clear_pointer (&res->osinfo, g_free);
  g_clear_pointer (&res->type, g_free);
}

/* The temporary files being made, so that a signal handler can remove
 * them: a killed build leaves nothing behind either. */
#define MAX_TEMPS 256
static char *volatile temps[MAX_TEMPS];
static GMutex temps_lock;

static void
temp_track (char *path)
{
  g_mutex_lock (&temps_lock);
  for (int i = 0; i < MAX_TEMPS; i++)
    if (temps[i] == NULL) {
      temps[i] = path;
      break;
    }
  g_mutex_unlock (&temps_lock);
}

static void
temp_forget (const char *path)
{
  g_mutex_lock (&temps_lock);
  for (int i = 0; i < MAX_TEMPS; i++)
    if (temps[i] == path)
      temps[i] = NULL;
  g_mutex_unlock (&temps_lock);
}

void
kiln_build_remove_temps (void)
{
  for (int i = 0; i < MAX_TEMPS; i++) {
    char *p = temps[i];

    if (p)
      unlink (p);
  }
}

/* Remove the temporary file *P (if any) and forget it. */
static void
drop_temp (char **p)
{
  if (*p == NULL)
    return;
  temp_forget (*p);
  unlink (*p);
  g_clear_pointer (p, g_free);
}

/* A reserved temporary name beside FINAL: ".NAME.XXXXXX" (hidden, same
 * filesystem, so rename() is atomic). */
static char *
temp_beside (const char *final, const char *tag, GError **err)
{
  g_autofree char *dir = g_path_get_dirname (final);
  g_autofree char *base = g_path_get_basename (final);
  g_autofree char *name = g_strdup_printf (".%s.%sXXXXXX", base, tag);
  char *path = g_build_filename (dir, name, NULL);
  int fd = g_mkstemp_full (path, O_RDWR | O_CLOEXEC, 0600);

  if (fd == -1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot create a file in %s: %s",
                 dir, g_strerror (errno));
    g_free (path);
    return NULL;
  }
  close (fd);
  temp_track (path);
  return path;
}

static int
create_disk (guestfs_h *g, const char *path, const char *format, int64_t size,
             const char *backing, const char *backing_format, GError **err)
{
  struct guestfs_disk_create_argv a = { 0 };

  if (backing) {
    a.bitmask = GUESTFS_DISK_CREATE_BACKINGFILE_BITMASK | GUESTFS_DISK_CREATE_BACKINGFORMAT_BITMASK;
    a.backingfile = backing;
    a.backingformat = backing_format;
  }
  if (guestfs_disk_create_argv (g, path, format, size, &a) == -1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_GUEST, "cannot create %s: %s", path, guestfs_last_error (g));
    return -1;
  }
  return 0;
}

/* libguestfs makes an overlay only at its backing file's size, and has no
 * call to grow an image; qemu-img does it (argv, no shell). */
static int
grow_disk (const char *path, uint64_t size, GError **err)
{
  g_autofree char *bytes = g_strdup_printf ("%" G_GUINT64_FORMAT, size);
  g_autofree char *errout = NULL;
  const char *argv[] = { "qemu-img", "resize", "-q", "-f", "qcow2", path, bytes, NULL };
  g_autoptr (GError) e = NULL;
  int status = 0;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                     NULL, NULL, NULL, &errout, &status, &e) ||
      !g_spawn_check_wait_status (status, &e)) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot grow %s to %s bytes: %s%s%s", path, bytes,
                 e->message, errout && *errout ? ": " : "", errout ? g_strstrip (errout) : "");
    return -1;
  }
  return 0;
}

/* Customize then sysprep on WORK, in one launch.  COPY_TO (or NULL): a
 * blank disk that receives WORK's whole content at the end. */
static int
run_guest (const struct kiln_build_image_opts *o, const char *work, const char *copy_to,
           struct kiln_build_image_result *res, GError **err)
{
  g_autoptr (kiln_guest) gu = kiln_guest_new (false);
  double t;

  gu->network = o->custom && kiln_customize_needs_network (o->custom);
  if (kiln_guest_add_disk (gu, work, "qcow2", err) == -1)
    return -1;
  if (copy_to) {
    /* Blank, so kiln_guest_add_disk would rightly refuse it as an image;
     * it is only a copy target here. */
    g_ptr_array_add (gu->disks, g_strdup (copy_to));
    g_ptr_array_add (gu->formats, g_strdup (o->format));
  }
  if (kiln_guest_launch (gu, err) == -1)
    return -1;
  res->launched = true;
  res->accel = gu->accel;
  res->launch_seconds = gu->launch_seconds;
  if (kiln_guest_inspect (gu, err) == -1 || kiln_guest_mount (gu, err) == -1)
    return -1;
  res->distro = g_strdup (gu->distro);
  res->osinfo = g_strdup (gu->osinfo);
  res->type = g_strdup (gu->type);
  res->major = gu->major;
  res->minor = gu->minor;

  t = kiln_elapsed ();
  if (o->custom && !kiln_customize_is_empty (o->custom) &&
      kiln_customize_apply (o->custom, gu, false, err) == -1)
    return -1;
  res->customize_seconds = kiln_elapsed () - t;
  t = kiln_elapsed ();
  if (o->sysprep && kiln_sysprep_run (o->sysprep, gu, NULL, false, err) == -1)
    return -1;
  res->sysprep_seconds = kiln_elapsed () - t;

  if (copy_to) {
    g_auto (GStrv) devs = NULL;
    struct guestfs_copy_device_to_device_argv ca = {
      .bitmask = GUESTFS_COPY_DEVICE_TO_DEVICE_SPARSE_BITMASK, .sparse = 1,
    };

    if (guestfs_umount_all (gu->g) == -1) {
      kiln_guest_set_error (gu, err, "cannot unmount the guest's filesystems");
      return -1;
    }
    gu->mounted = false;
    devs = guestfs_list_devices (gu->g);
    if (devs == NULL || devs[0] == NULL || devs[1] == NULL) {
      kiln_guest_set_error (gu, err, "cannot list the appliance's disks");
      return -1;
    }
    kiln_info ("Copying the image into %s", o->output);
    if (guestfs_copy_device_to_device_argv (gu->g, devs[0], devs[1], &ca) == -1) {
      kiln_guest_set_error (gu, err, "cannot copy the image");
      return -1;
    }
  }
  return kiln_guest_close (gu, err);
}

int
kiln_build_image (const struct kiln_ctx *ctx, const struct kiln_build_image_opts *o,
                  struct kiln_build_image_result *res, GError **err)
{
  g_autofree char *base = g_canonicalize_filename (o->base, NULL);
  g_autofree char *base_format = g_strdup (o->base_format);
  g_autofree char *work = NULL, *target = NULL;
  bool need_guest = (o->custom && !kiln_customize_is_empty (o->custom)) || o->sysprep || o->copy;
  guestfs_h *g = NULL;
  int64_t vsize;
  double t = kiln_elapsed ();
  int ret = -1;

  memset (res, 0, sizeof *res);
  if (!o->force && g_file_test (o->output, G_FILE_TEST_EXISTS)) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_EXISTS, "%s exists (use --force to replace it)", o->output);
    return -1;
  }
  if (!o->copy && strcmp (o->format, "qcow2") != 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "%s: an overlay is a qcow2 file, not %s",
                 o->output, o->format);
    return -1;
  }
  /* disk_create and disk_format need no appliance. */
  g = guestfs_create_flags (GUESTFS_CREATE_NO_CLOSE_ON_EXIT);
  if (g == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_GUEST, "cannot create a libguestfs handle");
    return -1;
  }
  guestfs_set_error_handler (g, NULL, NULL);
  {
    /* The same checks as for any disk given to kiln (a text file would
     * pass for raw), without a launch: a base is often used without one. */
    g_autoptr (kiln_guest) probe = kiln_guest_new (true);

    if (kiln_guest_add_disk (probe, base, base_format, err) == -1)
      goto out;
    g_free (base_format);
    base_format = g_strdup (probe->formats->pdata[0]);
  }
  vsize = guestfs_disk_virtual_size (g, base);
  if (vsize == -1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "%s: %s", base, guestfs_last_error (g));
    goto out;
  }
  if (o->size && o->size < (uint64_t) vsize) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "%s: size %" G_GUINT64_FORMAT " bytes is smaller than the base's %" G_GINT64_FORMAT,
                 o->output, o->size, vsize);
    goto out;
  }

  /* The working image is always an overlay on the read-only base; a copy
   * is filled from it at the end of the same launch. */
  work = temp_beside (o->output, o->copy ? "work." : "", err);
  if (work == NULL || create_disk (g, work, "qcow2", -1, base, base_format, err) == -1 ||
      (o->size > (uint64_t) vsize && grow_disk (work, o->size, err) == -1))
    goto out;
  if (o->copy) {
    target = temp_beside (o->output, "", err);
    if (target == NULL ||
        create_disk (g, target, o->format, o->size ? (int64_t) o->size : vsize, NULL, NULL, err) == -1)
      goto out;
  }
  res->create_seconds = kiln_elapsed () - t;

  if (need_guest && run_guest (o, work, target, res, err) == -1)
    goto out;

  if (o->copy) {
    drop_temp (&work);
    work = g_steal_pointer (&target);
  }
  res->digest = kiln_file_sha256 (work, err);
  if (res->digest == NULL)
    goto out;
  if (renameat2 (AT_FDCWD, work, AT_FDCWD, o->output, o->force ? 0 : RENAME_NOREPLACE) == -1) {
    g_set_error (err, KILN_ERROR, errno == EEXIST ? KILN_ERROR_EXISTS : KILN_ERROR_FAILED,
                 "cannot write %s: %s%s", o->output, g_strerror (errno),
                 errno == EEXIST ? " (use --force to replace it)" : "");
    goto out;
  }
  temp_forget (work);
  g_clear_pointer (&work, g_free);
  ret = 0;

 out:
  drop_temp (&work);
  drop_temp (&target);
  if (ret == -1)
    kiln_build_image_result_clear (res);
  guestfs_close (g);
  (void) ctx;
  return ret;
}
