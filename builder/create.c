/* create.c: kiln create SOURCE -o OUT: fetch (or take a local image), make
 * a qcow2 overlay on it (or a standalone copy), grow it, customize and
 * sysprep it, all in ONE libguestfs appliance launch.  OUT appears only
 * when everything worked: the work is done under a temporary name in
 * OUT's directory and renamed at the end. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kiln.h"
#include "customize.h"
#include "fetch.h"
#include "guest.h"
#include "msg.h"
#include "opts.h"
#include "sysprep.h"

enum {
  OPT_OUTPUT = 1, OPT_FORMAT, OPT_SIZE, OPT_COPY, OPT_FORCE, OPT_SYSPREP,
  OPT_CHECKSUM, OPT_SUMS, OPT_INSECURE,
};

const struct kiln_option kiln_create_options[] = {
  { "output", 'o', KILN_ARG_REQUIRED, "OUT", "the image to write", OPT_OUTPUT },
  { "format", 0, KILN_ARG_REQUIRED, "qcow2|raw", "OUT's format (default: qcow2; raw implies --copy)", OPT_FORMAT },
  { "size", 0, KILN_ARG_REQUIRED, "SIZE", "grow the disk, its last partition and filesystem to SIZE (e.g. 8G)", OPT_SIZE },
  { "copy", 0, KILN_ARG_NONE, NULL, "write a standalone copy instead of an overlay on the cached base", OPT_COPY },
  { "force", 0, KILN_ARG_NONE, NULL, "replace OUT if it exists", OPT_FORCE },
  { "sysprep", 0, KILN_ARG_OPTIONAL, "OPS", "generalize after customizing (OPS as for kiln sysprep --operations)", OPT_SYSPREP },
  { "checksum", 0, KILN_ARG_REQUIRED, "ALG:HEX", "expected digest of a downloaded SOURCE", OPT_CHECKSUM },
  { "sums", 0, KILN_ARG_REQUIRED, "URL", "a SHA512SUMS/SHA256SUMS file to check SOURCE against", OPT_SUMS },
  { "insecure", 0, KILN_ARG_NONE, NULL, "allow a plain http SOURCE with nothing to verify it against", OPT_INSECURE },
  KILN_OPTION_END
};

/* The temporary output, removed if kiln is interrupted. */
static char tmp_path[4096];

static void
on_signal (int sig)
{
  if (tmp_path[0])
    unlink (tmp_path);
  signal (sig, SIG_DFL);
  raise (sig);
}

/* "8G", "512M", "10737418240": bytes, binary multiples. */
static bool
parse_size (const char *s, int64_t *out)
{
  char *end = NULL;
  double v;
  int64_t mult = 1;

  errno = 0;
  v = g_ascii_strtod (s, &end);
  if (errno != 0 || end == s || v <= 0)
    return false;
  switch (g_ascii_toupper (*end)) {
  case '\0': break;
  case 'K': mult = INT64_C (1) << 10; end++; break;
  case 'M': mult = INT64_C (1) << 20; end++; break;
  case 'G': mult = INT64_C (1) << 30; end++; break;
  case 'T': mult = INT64_C (1) << 40; end++; break;
  default: return false;
  }
  if (*end == 'i')
    end++;
  if (*end == 'B' || *end == 'b')
    end++;
  if (*end != '\0' || v * (double) mult > 9.0e18)
    return false;
  *out = (int64_t) (v * (double) mult);
  *out = (*out + 511) / 512 * 512;
  return true;
}

static int
run_argv (const char *const *argv, GError **err)
{
  g_autofree char *errout = NULL;
  g_autofree char *cmd = g_strjoinv (" ", (char **) argv);
  int status;

  kiln_debug ("running %s", cmd);
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                     NULL, NULL, NULL, &errout, &status, err))
    return -1;
  if (!g_spawn_check_wait_status (status, NULL)) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s failed: %s", cmd,
                 errout && errout[0] ? g_strstrip (errout) : "no message");
    return -1;
  }
  return 0;
}

/* Grow the last partition of the first disk to the disk's end, then its
 * filesystem, before anything is mounted. */
static int
grow_last_partition (struct kiln_guest *gu, GError **err)
{
  guestfs_h *g = gu->g;
  const char *dev = "/dev/sda";
  struct guestfs_partition_list *pl = guestfs_part_list (g, dev);
  g_autofree char *parttype = NULL, *part = NULL, *fstype = NULL;
  int last = 0;
  int64_t sectors;
  uint64_t start = 0;
  char *s;

  if (pl == NULL) {
    kiln_guest_set_error (gu, err, "--size: cannot read the partition table");
    return -1;
  }
  for (uint32_t i = 0; i < pl->len; i++)
    if (pl->val[i].part_start >= start) {
      start = pl->val[i].part_start;
      last = pl->val[i].part_num;
    }
  guestfs_free_partition_list (pl);
  if (last == 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "--size: the disk has no partition to grow");
    return -1;
  }
  s = guestfs_part_get_parttype (g, dev);
  parttype = g_strdup (s);
  free (s);
  if (parttype == NULL) {
    kiln_guest_set_error (gu, err, "--size: unknown partition table");
    return -1;
  }
  if (strcmp (parttype, "msdos") == 0 && last > 4) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "--size: the last partition is a logical one; kiln grows only primary partitions");
    return -1;
  }
  if (strcmp (parttype, "gpt") == 0 && guestfs_part_expand_gpt (g, dev) == -1) {
    kiln_guest_set_error (gu, err, "--size: cannot move the GPT backup header to the disk's end");
    return -1;
  }
  sectors = guestfs_blockdev_getsz (g, dev);
  if (sectors == -1 ||
      guestfs_part_resize (g, dev, last, sectors - (strcmp (parttype, "gpt") == 0 ? 34 : 1)) == -1) {
    kiln_guest_set_error (gu, err, "--size: cannot grow partition %d", last);
    return -1;
  }
  part = g_strdup_printf ("%s%d", dev, last);
  s = guestfs_vfs_type (g, part);
  fstype = g_strdup (s);
  free (s);
  kiln_info ("Growing %s (%s) to the end of the disk", part, fstype ? fstype : "unknown");
  if (fstype && g_str_has_prefix (fstype, "ext")) {
    if (guestfs_e2fsck (g, part, GUESTFS_E2FSCK_CORRECT, 1, -1) == -1 ||
        guestfs_resize2fs (g, part) == -1) {
      kiln_guest_set_error (gu, err, "--size: cannot grow the filesystem on %s", part);
      return -1;
    }
  } else if (g_strcmp0 (fstype, "xfs") == 0 || g_strcmp0 (fstype, "btrfs") == 0) {
    int r;

    if (guestfs_mount (g, part, "/") == -1) {
      kiln_guest_set_error (gu, err, "--size: cannot mount %s to grow it", part);
      return -1;
    }
    r = strcmp (fstype, "xfs") == 0 ? guestfs_xfs_growfs (g, "/", GUESTFS_XFS_GROWFS_DATASEC, 1, -1)
                                    : guestfs_btrfs_filesystem_resize (g, "/", -1);
    if (r == -1) {
      kiln_guest_set_error (gu, err, "--size: cannot grow the filesystem on %s", part);
      guestfs_umount_all (g);
      return -1;
    }
    guestfs_umount_all (g);
  } else if (g_strcmp0 (fstype, "LVM2_member") == 0) {
    if (guestfs_pvresize (g, part) == -1) {
      kiln_guest_set_error (gu, err, "--size: cannot grow the LVM physical volume %s", part);
      return -1;
    }
    kiln_warn ("%s is an LVM physical volume: it was grown, its logical volumes were not", part);
  } else {
    kiln_warn ("--size: partition %s grown; its filesystem (%s) was left as it was",
               part, fstype ? fstype : "unknown");
  }
  return 0;
}

struct create {
  struct kiln_ctx *ctx;
  const char *source, *output, *format;
  int64_t size;
  bool copy, force;
  struct kiln_fetch_opts fo;
  struct kiln_customize *custom;
  struct kiln_sysprep_sel *sysprep;
};

static int
make_output (struct create *cr, const char *base, const char *base_format,
             int64_t base_size, GError **err)
{
  bool grow = cr->size > base_size;

  if (!cr->copy) {
    guestfs_h *g = guestfs_create_flags (GUESTFS_CREATE_NO_CLOSE_ON_EXIT);
    int r;

    if (g == NULL) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_GUEST, "cannot create a libguestfs handle");
      return -1;
    }
    guestfs_set_error_handler (g, NULL, NULL);
    /* With a backing file libguestfs takes the base's size; grown below. */
    r = guestfs_disk_create (g, tmp_path, "qcow2", -1,
                             GUESTFS_DISK_CREATE_BACKINGFILE, base,
                             GUESTFS_DISK_CREATE_BACKINGFORMAT, base_format, -1);
    if (r == -1)
      g_set_error (err, KILN_ERROR, KILN_ERROR_GUEST, "cannot create the overlay %s: %s",
                   cr->output, guestfs_last_error (g));
    guestfs_close (g);
    if (r == -1 || !grow)
      return r;
  }
  if (!cr->copy) {
    g_autofree char *sz = g_strdup_printf ("%" G_GINT64_FORMAT, cr->size);
    const char *resize[] = { "qemu-img", "resize", "-q", "-f", "qcow2", tmp_path, sz, NULL };

    return run_argv (resize, err);
  }
  {
    /* qemu-img has no library; it is the one tool for a sparse convert. */
    const char *conv[] = { "qemu-img", "convert", "-q", "-f", base_format, "-O", cr->format,
                           base, tmp_path, NULL };
    g_autofree char *sz = g_strdup_printf ("%" G_GINT64_FORMAT, cr->size);
    const char *resize[] = { "qemu-img", "resize", "-q", "-f", cr->format, tmp_path, sz, NULL };

    if (run_argv (conv, err) == -1)
      return -1;
    if (grow && run_argv (resize, err) == -1)
      return -1;
  }
  return 0;
}

static int
build (struct create *cr, const char *base, const char *base_format, GError **err)
{
  g_autoptr (kiln_guest) gu = kiln_guest_new (false);
  int64_t base_size;

  {
    guestfs_h *g = guestfs_create_flags (GUESTFS_CREATE_NO_CLOSE_ON_EXIT);

    if (g == NULL) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_GUEST, "cannot create a libguestfs handle");
      return -1;
    }
    guestfs_set_error_handler (g, NULL, NULL);
    base_size = guestfs_disk_virtual_size (g, base);
    if (base_size == -1)
      g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "%s: not a disk image: %s",
                   base, guestfs_last_error (g));
    guestfs_close (g);
    if (base_size == -1)
      return -1;
  }
  if (cr->size > 0 && cr->size < base_size) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "--size %" G_GINT64_FORMAT " is smaller than the image (%" G_GINT64_FORMAT
                 " bytes); kiln only grows", cr->size, base_size);
    return -1;
  }
  if (make_output (cr, base, base_format, base_size, err) == -1)
    return -1;

  /* Nothing to do inside the image: no appliance at all. */
  if (cr->size <= base_size && kiln_customize_is_empty (cr->custom) && cr->sysprep == NULL)
    return 0;

  gu->network = kiln_customize_needs_network (cr->custom);
  if (kiln_guest_add_disk (gu, tmp_path, cr->format, err) == -1 ||
      kiln_guest_launch (gu, err) == -1)
    return -1;
  if (cr->size > base_size && grow_last_partition (gu, err) == -1)
    goto fail;
  if (kiln_guest_inspect (gu, err) == -1 || kiln_guest_mount (gu, err) == -1)
    goto fail;
  if (kiln_customize_apply (cr->custom, gu, false, err) == -1)
    goto fail;
  if (cr->sysprep && kiln_sysprep_run (cr->sysprep, gu, NULL, false, err) == -1)
    goto fail;
  return kiln_guest_close (gu, err);

fail:
  kiln_guest_close (gu, NULL);
  return -1;
}

int
kiln_cmd_create (struct kiln_ctx *ctx, int argc, char **argv)
{
  g_autoptr (kiln_opts) p = kiln_opts_new (ctx, argc, argv);
  g_autoptr (kiln_customize) custom = kiln_customize_new ();
  g_autoptr (kiln_sysprep_sel) sel = NULL;
  g_autoptr (GError) err = NULL;
  struct create cr = { .ctx = ctx, .format = "qcow2", .custom = custom };
  struct kiln_fetch_result fr = { 0 };
  g_autofree char *base = NULL, *dir = NULL, *name = NULL, *out_abs = NULL;
  const char *arg = NULL;
  struct sigaction sa = { 0 };
  int opt, i, fd;
  mode_t mask;

  while ((opt = kiln_opts_next (p, &arg)) != 0) {
    switch (opt) {
    case OPT_OUTPUT: cr.output = arg; break;
    case OPT_FORMAT:
      if (g_strcmp0 (arg, "qcow2") != 0 && g_strcmp0 (arg, "raw") != 0)
        return kiln_usage_error (ctx, "--format takes qcow2 or raw, not '%s'", arg);
      cr.format = arg;
      break;
    case OPT_SIZE:
      if (!parse_size (arg, &cr.size))
        return kiln_usage_error (ctx, "--size: '%s' is not a size (e.g. 8G, 512M)", arg);
      break;
    case OPT_COPY: cr.copy = true; break;
    case OPT_FORCE: cr.force = true; break;
    case OPT_SYSPREP:
      if (sel == NULL)
        sel = kiln_sysprep_sel_new ();
      if (arg && kiln_sysprep_sel_operations (sel, arg, &err) == -1)
        return kiln_usage_error (ctx, "--sysprep: %s", err->message);
      break;
    case OPT_CHECKSUM: cr.fo.checksum = arg; break;
    case OPT_SUMS: cr.fo.sums_url = arg; break;
    case OPT_INSECURE: cr.fo.insecure = true; break;
    default:
      if (kiln_customize_add (custom, opt, arg, &err) == -1)
        return err->code == KILN_ERROR_USAGE ? kiln_usage_error (ctx, "%s", err->message)
                                             : kiln_fail (err);
      break;
    }
  }
  cr.sysprep = sel;
  i = kiln_opts_operand_index (p);
  if (argc - i != 1)
    return kiln_usage_error (ctx, argc - i == 0 ? "which source? (kiln create SOURCE -o OUT)"
                                                : "one source at a time");
  cr.source = argv[i];
  if (cr.output == NULL)
    return kiln_usage_error (ctx, "-o OUT is required");
  if (strcmp (cr.format, "raw") == 0)
    cr.copy = true;             /* a raw file cannot have a backing file */
  if (!cr.force && g_file_test (cr.output, G_FILE_TEST_EXISTS)) {
    g_set_error (&err, KILN_ERROR, KILN_ERROR_EXISTS,
                 "%s already exists (use --force to replace it)", cr.output);
    return kiln_fail (err);
  }

  if (kiln_fetch (ctx, cr.source, &cr.fo, &fr, &err) == -1)
    return kiln_fail (err);
  base = realpath (fr.path, NULL);
  if (base == NULL) {
    g_set_error (&err, KILN_ERROR, KILN_ERROR_NOT_FOUND, "%s: %s", fr.path, g_strerror (errno));
    kiln_fetch_result_clear (&fr);
    return kiln_fail (err);
  }

  /* The temporary name, in OUT's directory so that the rename is atomic. */
  dir = g_path_get_dirname (cr.output);
  name = g_path_get_basename (cr.output);
  {
    g_autofree char *t = g_strdup_printf ("%s/.%s.kiln-XXXXXX", dir, name);

    if (strlen (t) >= sizeof tmp_path) {
      kiln_fetch_result_clear (&fr);
      return kiln_usage_error (ctx, "-o %s: the path is too long", cr.output);
    }
    g_strlcpy (tmp_path, t, sizeof tmp_path);
  }
  sa.sa_handler = on_signal;
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGHUP, &sa, NULL);
  fd = g_mkstemp (tmp_path);
  if (fd == -1) {
    g_set_error (&err, KILN_ERROR, KILN_ERROR_FAILED, "cannot write in %s: %s", dir,
                 g_strerror (errno));
    tmp_path[0] = '\0';
    kiln_fetch_result_clear (&fr);
    return kiln_fail (err);
  }
  close (fd);
  mask = umask (0);
  umask (mask);
  chmod (tmp_path, 0666 & ~mask);

  kiln_info ("%s %s from %s", cr.copy ? "Copying" : "Making an overlay", cr.output, base);
  if (build (&cr, base, fr.format ? fr.format : "qcow2", &err) == -1)
    goto fail;
  if (rename (tmp_path, cr.output) == -1) {
    g_set_error (&err, KILN_ERROR, KILN_ERROR_FAILED, "cannot rename %s to %s: %s",
                 tmp_path, cr.output, g_strerror (errno));
    goto fail;
  }
  tmp_path[0] = '\0';
  out_abs = realpath (cr.output, NULL);
  if (!cr.copy && kiln_cache_add_user (ctx, base, out_abs ? out_abs : cr.output, &err) == -1) {
    kiln_warn ("%s: %s (kiln cache prune may remove its base)", cr.output, err->message);
    g_clear_error (&err);
  }
  kiln_fetch_result_clear (&fr);
  kiln_info ("Finished: %s", cr.output);
  printf ("%s\n", cr.output);
  return KILN_EXIT_OK;

fail:
  unlink (tmp_path);
  tmp_path[0] = '\0';
  kiln_fetch_result_clear (&fr);
  g_prefix_error (&err, "%s: ", cr.output);
  return kiln_fail (err);
}
