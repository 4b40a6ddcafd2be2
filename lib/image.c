/* image.c: one output image from a verified base (see image.h), for kiln
 * create and kiln build alike.
 *
 * A standalone copy is made by `qemu-img convert` on the host, then the
 * appliance (if anything is to be done inside) works on the copy itself.
 * The other way, a device-to-device copy inside the appliance at the end
 * of the launch, needs a launch even for a plain copy, a second disk in
 * the appliance, and reads every block through virtio; qemu-img reads the
 * base once, sparsely, and leaves nothing between the copy and the
 * image. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <guestfs.h>

#include "image.h"
#include "cache.h"
#include "digest.h"
#include "event.h"
#include "fault.h"
#include "fileio.h"
#include "guest.h"
#include "msg.h"                /* kiln_elapsed */
#include "qcow2.h"
#include "sbom.h"

int
kiln_image_opts_check (const struct kiln_image_opts *o, GError **err)
{
  const char *format = o->format ? o->format : "qcow2";

  if (o->output == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "an image needs an output");
    return -1;
  }
  if (strcmp (format, "qcow2") != 0 && strcmp (format, "raw") != 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "%s: the format is qcow2 or raw, not %s",
                 o->output, format);
    return -1;
  }
  if (!o->copy && strcmp (format, "qcow2") != 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "%s: an overlay is a qcow2 file, not %s (a raw image is a copy)", o->output, format);
    return -1;
  }
  return 0;
}

void
kiln_image_result_clear (struct kiln_image_result *res)
{
  g_clear_pointer (&res->digest, g_free);
  g_clear_pointer (&res->distro, g_free);
  g_clear_pointer (&res->osinfo, g_free);
  g_clear_pointer (&res->type, g_free);
  g_clear_pointer (&res->passwords, g_ptr_array_unref);
  g_clear_pointer (&res->work, g_free);
  g_clear_pointer (&res->contents, kiln_sbom_guest_free);
}


/* A child must not outlive kiln: killed with SIGTERM when kiln dies. */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

/* Run ARGV (a vector, never a shell string); its stdout in *OUT when OUT
 * is not NULL.  A failure's message ends with the tail of its stderr. */
static int
spawn (const char *const *argv, char **out, GError **err)
{
  g_autofree char *errout = NULL;
  g_autoptr (GError) e = NULL;
  int status = 0;

  kiln_event_debug ("image", "running %s", argv[0]);
  if (!g_spawn_sync (NULL, (char **) argv, NULL,
                     G_SPAWN_SEARCH_PATH | (out ? 0 : G_SPAWN_STDOUT_TO_DEV_NULL),
                     die_with_parent, NULL, out, &errout, &status, &e) ||
      !g_spawn_check_wait_status (status, &e)) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s%s%s", argv[0], e->message,
                 errout && *errout ? ": " : "", errout ? g_strstrip (errout) : "");
    return -1;
  }
  return 0;
}

/* The virtual size of BASE: from its header for qcow2 and raw, else
 * from qemu-img through libguestfs (no launch). */
static gint64
virtual_size (const char *base, const char *format, GError **err)
{
  guestfs_h *g;
  gint64 size;

  if (strcmp (format, "qcow2") == 0 || strcmp (format, "raw") == 0)
    return kiln_image_virtual_size (base, format, err);
  g = guestfs_create_flags (GUESTFS_CREATE_NO_CLOSE_ON_EXIT);
  if (g == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_GUEST, "cannot create a libguestfs handle");
    return -1;
  }
  guestfs_set_error_handler (g, NULL, NULL);
  size = guestfs_disk_virtual_size (g, base);
  if (size == -1)
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "%s: %s", base, guestfs_last_error (g));
  guestfs_close (g);
  return size;
}

/* A qcow2 overlay of SIZE bytes on BASE, written into WORK. */
static int
make_overlay (const char *work, const char *base, const char *base_format, uint64_t size,
              GError **err)
{
  int fd = open (work, O_WRONLY | O_TRUNC | O_CLOEXEC);
  int r;

  if (fd == -1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", work, g_strerror (errno));
    return -1;
  }
  r = kiln_qcow2_write_overlay (fd, size, base, base_format, err);
  if (close (fd) == -1 && r == 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", work, g_strerror (errno));
    r = -1;
  }
  return r;
}

/* A standalone copy of BASE in WORK, grown to SIZE when it is larger. */
static int
make_copy (const char *work, const char *base, const char *base_format, const char *format,
           uint64_t size, uint64_t base_size, GError **err)
{
  g_autofree char *bytes = g_strdup_printf ("%" G_GUINT64_FORMAT, size);
  const char *convert[] = { "qemu-img", "convert", "-q", "-f", base_format, "-O", format,
                            base, work, NULL };
  const char *resize[] = { "qemu-img", "resize", "-q", "-f", format, work, bytes, NULL };

  if (spawn (convert, NULL, err) == -1 ||
      (size > base_size && spawn (resize, NULL, err) == -1)) {
    g_prefix_error (err, "cannot copy %s: ", base);
    return -1;
  }
  /* qemu-img writes into the file kiln_temp_beside made; its mode stays,
   * but say so rather than trust it. */
  if (chmod (work, 0600) == -1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", work, g_strerror (errno));
    return -1;
  }
  return 0;
}

/* The passwords that O->custom generated, copied into RES. */
static void
collect_passwords (const struct kiln_customize *c, GPtrArray *out)
{
  const GPtrArray *gen = c ? kiln_customize_generated_passwords (c) : NULL;

  for (guint i = 0; gen && i < gen->len; i++) {
    g_ptr_array_add (out, kiln_customize_password_copy (gen->pdata[i]));
  }
}

/* Grow, customize and sysprep WORK in one launch. */
static int
run_guest (const struct kiln_ctx *ctx, const struct kiln_image_opts *o, const char *work,
           const char *format, bool grow, struct kiln_image_result *res, GError **err)
{
  g_autoptr (kiln_guest) gu = kiln_guest_new (false);
  double t;

  gu->network = o->custom && kiln_customize_needs_network (o->custom);
  /* WORK is a fresh overlay on the base, or a copy of it: the base's
   * inspection, from the cache when an earlier run recorded it. */
  kiln_guest_cache_inspection (gu, ctx);
  gu->lists_packages = o->packages;
  if (kiln_guest_add_disk (gu, work, format, err) == -1 || kiln_guest_launch (gu, err) == -1)
    return -1;
  res->launched = true;
  res->accel = gu->accel;
  res->launch_seconds = gu->launch_seconds;
  t = kiln_elapsed ();
  if (grow && kiln_guest_grow_last_partition (gu, err) == -1)
    goto fail;
  res->grown = grow;
  res->grow_seconds = kiln_elapsed () - t;
  if (kiln_guest_inspect (gu, err) == -1 || kiln_guest_mount (gu, err) == -1)
    goto fail;
  res->distro = g_strdup (gu->distro);
  res->osinfo = g_strdup (gu->osinfo);
  res->type = g_strdup (gu->type);
  res->major = gu->major;
  res->minor = gu->minor;

  t = kiln_elapsed ();
  if (o->custom && !kiln_customize_is_empty (o->custom)) {
    if (kiln_customize_apply (o->custom, gu, false, err) == -1)
      goto fail;
    collect_passwords (o->custom, res->passwords);
  }
  res->customize_seconds = kiln_elapsed () - t;
  t = kiln_elapsed ();
  if (o->sysprep && kiln_sysprep_run (o->sysprep, gu, NULL, false, err) == -1)
    goto fail;
  res->sysprep_seconds = kiln_elapsed () - t;
  /* The SBOM's packages, read while the guest is open: no second launch. */
  if (o->packages && (res->contents = kiln_sbom_read_guest (gu, err)) == NULL)
    goto fail;
  return kiln_guest_close (gu, err);

fail:
  kiln_guest_close (gu, NULL);
  return -1;
}

int
kiln_image_build (const struct kiln_ctx *ctx, const struct kiln_image_opts *o,
                  struct kiln_image_result *res, GError **err)
{
  const char *format = o->format ? o->format : "qcow2";
  g_autofree char *base = NULL, *base_format = NULL, *work = NULL;
  bool grow, inside = (o->custom && !kiln_customize_is_empty (o->custom)) || o->sysprep;
  g_autoptr (GError) e = NULL;
  uint64_t size;
  gint64 base_size;
  double t = kiln_elapsed ();

  memset (res, 0, sizeof *res);
  if (kiln_image_opts_check (o, err) == -1)
    return -1;
  if (o->base == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "%s: an image needs a base", o->output);
    return -1;
  }
  if (!o->force && g_file_test (o->output, G_FILE_TEST_EXISTS)) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_EXISTS, "%s exists (use --force to replace it)",
                 o->output);
    return -1;
  }
  base = kiln_path_canonical (o->base);
  {
    /* The same checks as for any disk given to kiln (a text file would
     * pass for raw), without a launch. */
    g_autoptr (kiln_guest) probe = kiln_guest_new (true);

    if (kiln_guest_add_disk (probe, base, o->base_format, err) == -1)
      return -1;
    base_format = g_strdup (probe->formats->pdata[0]);
  }
  base_size = virtual_size (base, base_format, err);
  if (base_size == -1)
    return -1;
  if (o->size && o->size < (uint64_t) base_size) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "%s: size %" G_GUINT64_FORMAT " bytes is smaller than the base's %" G_GINT64_FORMAT
                 " bytes; kiln only grows", o->output, o->size, base_size);
    return -1;
  }
  size = o->size ? o->size : (uint64_t) base_size;
  grow = size > (uint64_t) base_size;

  res->passwords = g_ptr_array_new_with_free_func (kiln_customize_password_free);
  work = kiln_temp_beside (o->output, 0600, err);
  if (work == NULL)
    goto fail;
  kiln_event_info ("image", "%s %s from %s", o->copy ? "Copying" : "Making an overlay",
                   o->output, base);
  if (o->copy ? make_copy (work, base, base_format, format, size, base_size, err)
              : make_overlay (work, base, base_format, size, err))
    goto fail;
  res->create_seconds = kiln_elapsed () - t;

  if ((inside || grow) && run_guest (ctx, o, work, format, grow, res, err) == -1)
    goto fail;

  if (kiln_fault_check ("image", err) == -1)
    goto fail;
  res->digest = kiln_digest_file (work, "sha256", err);
  if (res->digest == NULL)
    goto fail;
  /* Recorded before the image appears.  A prune in between would see a
   * user that does not exist yet and keep nothing for it: the caller's
   * fetch result holds the cache pin until this returns, so prune waits.
   * A base outside the cache is no business of the cache. */
  if (!o->copy) {
    g_autofree char *user = kiln_path_canonical (o->output);

    if (kiln_cache_add_user (ctx, base, user, err) == -1)
      goto fail;
  }
  if (o->unpublished) {
    res->work = g_steal_pointer (&work);
    return 0;
  }
  if (kiln_temp_publish (work, o->output, o->force, &e) == -1) {
    /* Someone else made OUTPUT while this image was being made. */
    if (e->code == KILN_ERROR_EXISTS)
      g_set_error (err, KILN_ERROR, KILN_ERROR_EXISTS, "%s exists (use --force to replace it)",
                   o->output);
    else
      g_propagate_error (err, g_steal_pointer (&e));
    g_clear_pointer (&work, g_free);
    goto fail;
  }
  return 0;

fail:
  kiln_temp_discard (work);
  kiln_image_result_clear (res);
  return -1;
}
