/* guest.c: the libguestfs handle with kiln's launch policy. */
#include <stdlib.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <blkid.h>

#include "accel.h"
#include "cache.h"           /* kiln_cache_dir */
#include "event.h"
#include "guest.h"
#include "inspection.h"
#include "msg.h"             /* kiln_elapsed */

struct kiln_guest *
kiln_guest_new (bool readonly)
{
  struct kiln_guest *gu = g_new0 (struct kiln_guest, 1);

  gu->readonly = readonly;
  gu->selinux_relabel = true;
  gu->disks = g_ptr_array_new_with_free_func (g_free);
  gu->formats = g_ptr_array_new_with_free_func (g_free);
  return gu;
}

void
kiln_guest_keep (struct kiln_guest *gu, const char *path)
{
  char *real = gu->g ? guestfs_realpath (gu->g, path) : NULL;

  if (gu->kept == NULL)
    gu->kept = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_add (gu->kept, real ? g_strdup (real) : g_strdup (path));
  free (real);
}

bool
kiln_guest_holds_kept (struct kiln_guest *gu, const char *path, bool *exact)
{
  GHashTableIter it;
  gpointer k;
  size_t n = strlen (path);

  *exact = false;
  if (gu == NULL || gu->kept == NULL)
    return false;
  if (g_hash_table_contains (gu->kept, path))
    return *exact = true;
  g_hash_table_iter_init (&it, gu->kept);
  while (g_hash_table_iter_next (&it, &k, NULL))
    if (strncmp (k, path, n) == 0 && (((const char *) k)[n] == '/' || strcmp (path, "/") == 0))
      return true;
  return false;
}

void
kiln_guest_free (struct kiln_guest *gu)
{
  if (gu == NULL)
    return;
  if (gu->g)
    guestfs_close (gu->g);
  g_ptr_array_unref (gu->disks);
  g_ptr_array_unref (gu->formats);
  if (gu->kept)
    g_hash_table_unref (gu->kept);
  g_free (gu->inspection_dir);
  g_free (gu->inspection_key);
  kiln_inspection_free (gu->cached);
  g_free (gu->root);
  g_free (gu->type);
  g_free (gu->distro);
  g_free (gu->product_name);
  g_free (gu->hostname);
  g_free (gu->arch);
  g_free (gu->package_format);
  g_free (gu->package_management);
  g_free (gu->osinfo);
  g_free (gu);
}

void
kiln_guest_set_error (struct kiln_guest *gu, GError **err, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *ctx = NULL;
  const char *msg = gu->g ? guestfs_last_error (gu->g) : NULL;

  va_start (ap, fmt);
  ctx = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (err, KILN_ERROR, KILN_ERROR_GUEST, "%s: %s", ctx,
               msg ? msg : "unknown libguestfs error");
}

/* Does a raw file hold a partition table or a filesystem?  libblkid reads
 * the few blocks that tell, so a text file is refused before a launch. */
static bool
raw_has_content (const char *path)
{
  blkid_probe pr = blkid_new_probe_from_filename (path);
  int r;

  if (pr == NULL)
    return true;                /* let the appliance decide */
  blkid_probe_enable_partitions (pr, 1);
  blkid_probe_enable_superblocks (pr, 1);
  r = blkid_do_safeprobe (pr);
  blkid_free_probe (pr);
  return r == 0 || r == -2;     /* found, or found but ambiguous */
}

int
kiln_guest_add_disk (struct kiln_guest *gu, const char *path,
                     const char *format, GError **err)
{
  struct stat st;
  g_autofree char *detected = NULL;

  if (stat (path, &st) != 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_NOT_FOUND, "%s: %s", path, g_strerror (errno));
    return -1;
  }
  if (!S_ISREG (st.st_mode) && !S_ISBLK (st.st_mode)) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "%s: not a disk image (not a regular file or block device)", path);
    return -1;
  }
  if (format == NULL) {
    /* qemu-img's answer, through libguestfs, without a launch. */
    guestfs_h *probe = guestfs_create_flags (GUESTFS_CREATE_NO_CLOSE_ON_EXIT);
    char *f;

    if (probe == NULL) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_GUEST, "cannot create a libguestfs handle");
      return -1;
    }
    guestfs_set_error_handler (probe, NULL, NULL);
    f = guestfs_disk_format (probe, path);
    if (f == NULL) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: not a disk image: %s",
                   path, guestfs_last_error (probe));
      guestfs_close (probe);
      return -1;
    }
    guestfs_close (probe);
    detected = f;
    if (strcmp (detected, "unknown") == 0) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                   "%s: not a disk image (qemu-img does not recognize its format)", path);
      return -1;
    }
    format = detected;
  }
  if (strcmp (format, "raw") == 0 && S_ISREG (st.st_mode) && !raw_has_content (path)) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "%s: not a disk image (no partition table or filesystem in it)", path);
    return -1;
  }
  if (!gu->readonly && access (path, W_OK) != 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "%s: cannot write to it: %s", path, g_strerror (errno));
    return -1;
  }
  g_ptr_array_add (gu->disks, g_strdup (path));
  g_ptr_array_add (gu->formats, g_strdup (format));
  return 0;
}

/* -x: every handle made from now on traces its calls.  Set once, before
 * any handle is made (and before threads). */
static bool trace_calls;

void
kiln_guest_trace_calls (bool on)
{
  trace_calls = on;
}

bool
kiln_guest_path_secret (const char *path)
{
  static const char *const secret[] = {
    "/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-",
    "/etc/security/opasswd", "/etc/master.passwd", NULL,
  };
  g_autofree char *norm = NULL;

  if (path == NULL || path[0] != '/')
    return false;
  /* "//etc/./shadow" is /etc/shadow too (GLib keeps a leading "//"). */
  while (path[1] == '/')
    path++;
  norm = g_canonicalize_filename (path, "/");
  return g_strv_contains (secret, norm);
}

/* Tracing off on G while PATH holds secrets; returns what to restore. */
static int
untrace (guestfs_h *g, const char *path)
{
  int trace = 0;

  if (kiln_guest_path_secret (path)) {
    trace = guestfs_get_trace (g);
    if (trace)
      guestfs_set_trace (g, 0);
  }
  return trace;
}

static void
retrace (guestfs_h *g, int trace)
{
  if (trace > 0)
    guestfs_set_trace (g, trace);
}

char *
kiln_guest_read_file (guestfs_h *g, const char *path, size_t *len)
{
  int trace = untrace (g, path);
  char *r = guestfs_read_file (g, path, len);

  retrace (g, trace);
  return r;
}

static int
write_untraced (guestfs_h *g, const char *path, const char *content, size_t len, bool append)
{
  int trace = untrace (g, path);
  int r = append ? guestfs_write_append (g, path, content, len)
                 : guestfs_write (g, path, content, len);

  retrace (g, trace);
  return r;
}

int
kiln_guest_write_file (guestfs_h *g, const char *path, const char *content, size_t len)
{
  return write_untraced (g, path, content, len, false);
}

int
kiln_guest_append_file (guestfs_h *g, const char *path, const char *content, size_t len)
{
  return write_untraced (g, path, content, len, true);
}

static guestfs_h *
make_handle (struct kiln_guest *gu, enum kiln_accel accel, GError **err)
{
  guestfs_h *g = guestfs_create ();
  g_auto (GStrv) settings = NULL;
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();

  if (g == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_GUEST, "cannot create a libguestfs handle");
    return NULL;
  }
  guestfs_set_error_handler (g, NULL, NULL);
  if (trace_calls)
    guestfs_set_trace (g, 1);
  /* Keep the user's LIBGUESTFS_BACKEND_SETTINGS, and say which accelerator. */
  settings = guestfs_get_backend_settings (g);
  for (char **s = settings; s && *s; s++)
    if (strcmp (*s, "force_tcg") != 0 && strcmp (*s, "force_kvm") != 0)
      g_strv_builder_add (b, *s);
  g_strv_builder_add (b, accel == KILN_ACCEL_TCG ? "force_tcg" : "force_kvm");
  {
    g_auto (GStrv) nsettings = g_strv_builder_end (b);

    guestfs_set_backend_settings (g, nsettings);
  }
  if (gu->network)
    guestfs_set_network (g, 1);
  for (guint i = 0; i < gu->disks->len; i++) {
    if (guestfs_add_drive_opts (g, gu->disks->pdata[i],
                                GUESTFS_ADD_DRIVE_OPTS_READONLY, gu->readonly ? 1 : 0,
                                GUESTFS_ADD_DRIVE_OPTS_FORMAT, gu->formats->pdata[i],
                                -1) == -1) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_GUEST, "%s: %s",
                   (char *) gu->disks->pdata[i], guestfs_last_error (g));
      guestfs_close (g);
      return NULL;
    }
  }
  return g;
}

void
kiln_guest_cache_inspection (struct kiln_guest *gu, const struct kiln_ctx *ctx)
{
  g_autoptr (GError) e = NULL;
  g_autofree char *cache_dir = NULL;

  g_clear_pointer (&gu->inspection_dir, g_free);
  cache_dir = kiln_cache_dir (ctx, &e);
  if (cache_dir)
    gu->inspection_dir = kiln_inspection_dir (cache_dir, &e);
  if (gu->inspection_dir == NULL)
    kiln_event_debug ("inspect", "no inspection cache: %s", e->message);
}

/* The key of GU's disks for the inspection cache, before the launch
 * (once it runs, qemu may hold writes the files do not show yet). */
static void
inspection_key (struct kiln_guest *gu)
{
  struct guestfs_version *v;
  g_autofree char *backend = NULL, *id = NULL;
  const char *why = NULL;
  bool overlaid = false;

  g_clear_pointer (&gu->inspection_key, g_free);
  if (gu->inspection_dir == NULL)
    return;
  v = guestfs_version (gu->g);
  backend = guestfs_get_backend (gu->g);
  id = g_strdup_printf ("%" PRId64 ".%" PRId64 ".%" PRId64 "%s %s",
                        v ? v->major : 0, v ? v->minor : 0, v ? v->release : 0,
                        v && v->extra ? v->extra : "", backend ? backend : "?");
  if (v)
    guestfs_free_version (v);
  gu->inspection_key = kiln_inspection_key (gu->disks, gu->formats, id, &overlaid, &why);
  gu->inspection_keep = overlaid || gu->readonly;
  if (gu->inspection_key == NULL)
    kiln_event_debug ("inspect", "the inspection of these disks is not cached: %s", why);
}

int
kiln_guest_launch (struct kiln_guest *gu, GError **err)
{
  enum kiln_accel accel;
  double t0;

  if (kiln_accel_resolve (&accel, err) == -1)
    return -1;
  for (;;) {
    gu->g = make_handle (gu, accel, err);
    if (gu->g == NULL)
      return -1;
    inspection_key (gu);
    kiln_event_info ("launch", "Launching the appliance (%s)", accel == KILN_ACCEL_TCG ? "TCG" : "KVM");
    t0 = kiln_elapsed ();
    if (guestfs_launch (gu->g) == 0)
      break;
    if (accel == KILN_ACCEL_KVM && kiln_accel_fallback (guestfs_last_error (gu->g))) {
      guestfs_close (gu->g);
      gu->g = NULL;
      accel = KILN_ACCEL_TCG;
      continue;
    }
    kiln_guest_set_error (gu, err, "cannot launch the libguestfs appliance");
    guestfs_close (gu->g);
    gu->g = NULL;
    return -1;
  }
  gu->accel = accel;
  gu->launch_seconds = kiln_elapsed () - t0;
  kiln_event_debug ("launch", "appliance up in %.1f s", gu->launch_seconds);
  return 0;
}

static char *
inspect_str (guestfs_h *g, char *(*fn) (guestfs_h *, const char *), const char *root)
{
  char *s = fn (g, root);

  if (s && (strcmp (s, "unknown") == 0 || s[0] == '\0')) {
    free (s);
    return NULL;
  }
  return s;
}

/* libguestfs strings are malloc'd; kiln frees with g_free, so copy. */
static char *
take (char *s)
{
  char *r = g_strdup (s);

  free (s);
  return r;
}

/* Record what libguestfs found for GU in the inspection cache. */
static void
inspection_store (struct kiln_guest *gu)
{
  g_autoptr (kiln_inspection) in = kiln_inspection_new ();
  g_autoptr (GError) e = NULL;
  char **mps;

  if (gu->inspection_key == NULL || !gu->inspection_keep)
    return;
  mps = guestfs_inspect_get_mountpoints (gu->g, gu->root);
  for (char **p = mps; p && *p; p++)
    g_ptr_array_add (in->mountpoints, g_strdup (*p));
  for (char **p = mps; p && *p; p++)
    free (*p);
  free (mps);
  in->root = g_strdup (gu->root);
  in->type = g_strdup (gu->type);
  in->distro = g_strdup (gu->distro);
  in->product_name = g_strdup (gu->product_name);
  in->hostname = g_strdup (gu->hostname);
  in->arch = g_strdup (gu->arch);
  in->package_format = g_strdup (gu->package_format);
  in->package_management = g_strdup (gu->package_management);
  in->osinfo = g_strdup (gu->osinfo);
  in->major = gu->major;
  in->minor = gu->minor;
  if (kiln_inspection_store (gu->inspection_dir, gu->inspection_key, in, &e) == -1)
    kiln_event_debug ("inspect", "cannot record the inspection: %s", e->message);
  else
    kiln_event_debug ("inspect", "inspection recorded in %s/%s", gu->inspection_dir,
                      gu->inspection_key);
}

/* GU's answers from the cache entry IN (which GU then owns); GU's were
 * cleared (inspection_clear). */
static void
inspection_take (struct kiln_guest *gu, struct kiln_inspection *in)
{
  gu->root = g_strdup (in->root);
  gu->type = g_strdup (in->type);
  gu->distro = g_strdup (in->distro);
  gu->product_name = g_strdup (in->product_name);
  gu->hostname = g_strdup (in->hostname);
  gu->arch = g_strdup (in->arch);
  gu->package_format = g_strdup (in->package_format);
  gu->package_management = g_strdup (in->package_management);
  gu->osinfo = g_strdup (in->osinfo);
  gu->major = in->major;
  gu->minor = in->minor;
  gu->cached = in;
}

static void
inspection_clear (struct kiln_guest *gu)
{
  g_clear_pointer (&gu->root, g_free);
  g_clear_pointer (&gu->type, g_free);
  g_clear_pointer (&gu->distro, g_free);
  g_clear_pointer (&gu->product_name, g_free);
  g_clear_pointer (&gu->hostname, g_free);
  g_clear_pointer (&gu->arch, g_free);
  g_clear_pointer (&gu->package_format, g_free);
  g_clear_pointer (&gu->package_management, g_free);
  g_clear_pointer (&gu->osinfo, g_free);
  g_clear_pointer (&gu->cached, kiln_inspection_free);
}

static int inspect_real (struct kiln_guest *gu, GError **err);

int
kiln_guest_inspect (struct kiln_guest *gu, GError **err)
{
  struct kiln_inspection *in = NULL;

  inspection_clear (gu);
  if (gu->inspection_key &&
      (in = kiln_inspection_lookup (gu->inspection_dir, gu->inspection_key)) != NULL) {
    /* kiln reads deb and rpm package lists itself (sbom.c); others need
     * libguestfs' own inspection. */
    if (gu->lists_packages && g_strcmp0 (in->package_format, "deb") != 0 &&
        g_strcmp0 (in->package_format, "rpm") != 0) {
      kiln_inspection_free (in);
      in = NULL;
    }
  }
  if (in) {
    inspection_take (gu, in);
    kiln_event_debug ("inspect", "inspection from the cache: root %s, %s %d.%d (%s/%s)",
                      gu->root, gu->distro ? gu->distro : "?", gu->major, gu->minor,
                      gu->inspection_dir, gu->inspection_key);
    return 0;
  }
  if (gu->inspection_key)
    kiln_event_debug ("inspect", "no usable inspection cache entry for these disks: inspecting");
  if (inspect_real (gu, err) == -1)
    return -1;
  inspection_store (gu);
  return 0;
}

static int
inspect_real (struct kiln_guest *gu, GError **err)
{
  g_autofree char *disk = g_strdup (gu->disks->len ? gu->disks->pdata[0] : "?");
  char **roots = guestfs_inspect_os (gu->g);
  size_t n;

  if (roots == NULL) {
    kiln_guest_set_error (gu, err, "%s: inspection failed", disk);
    return -1;
  }
  n = g_strv_length (roots);
  if (n == 0) {
    char **fs = guestfs_list_filesystems (gu->g);
    bool any = fs && fs[0] != NULL;

    for (char **p = fs; p && *p; p++)
      free (*p);
    free (fs);
    free (roots);
    g_set_error (err, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                 any ? "%s: no operating system found in this image (it holds only data filesystems)"
                     : "%s: no operating system found in this image (it holds no filesystem)",
                 disk);
    return -1;
  }
  if (n > 1)
    kiln_event_warning ("inspect", "%s: %zu operating systems found; using the one on %s", disk, n, roots[0]);
  gu->root = take (roots[0]);
  for (size_t i = 1; i < n; i++)
    free (roots[i]);
  free (roots);

  gu->type = take (inspect_str (gu->g, guestfs_inspect_get_type, gu->root));
  gu->distro = take (inspect_str (gu->g, guestfs_inspect_get_distro, gu->root));
  gu->product_name = take (inspect_str (gu->g, guestfs_inspect_get_product_name, gu->root));
  gu->hostname = take (inspect_str (gu->g, guestfs_inspect_get_hostname, gu->root));
  gu->arch = take (inspect_str (gu->g, guestfs_inspect_get_arch, gu->root));
  gu->package_format = take (inspect_str (gu->g, guestfs_inspect_get_package_format, gu->root));
  gu->package_management = take (inspect_str (gu->g, guestfs_inspect_get_package_management, gu->root));
  gu->osinfo = take (inspect_str (gu->g, guestfs_inspect_get_osinfo, gu->root));
  gu->major = guestfs_inspect_get_major_version (gu->g, gu->root);
  gu->minor = guestfs_inspect_get_minor_version (gu->g, gu->root);
  return 0;
}

static int
cmp_mountpoint_len (const void *a, const void *b)
{
  const char *const *x = a, *const *y = b;

  return (int) strlen (x[0]) - (int) strlen (y[0]);
}

/* Mount the N pairs (mountpoint, device) of MPS, / before /boot before
 * /boot/efi (MPS is sorted).  STRICT: stop at the first failure (-1);
 * else warn and go on. */
static int
mount_pairs (struct kiln_guest *gu, char **mps, size_t n, bool strict)
{
  qsort (mps, n, 2 * sizeof (char *), cmp_mountpoint_len);
  for (size_t i = 0; i < n; i++) {
    int r = gu->readonly ? guestfs_mount_ro (gu->g, mps[2 * i + 1], mps[2 * i])
                         : guestfs_mount (gu->g, mps[2 * i + 1], mps[2 * i]);

    if (r == -1 && strict) {
      kiln_event_debug ("inspect", "cannot mount %s on %s from the inspection cache: %s",
                        mps[2 * i + 1], mps[2 * i], guestfs_last_error (gu->g));
      return -1;
    }
    if (r == -1)
      kiln_event_warning ("mount", "cannot mount %s on %s: %s", mps[2 * i + 1], mps[2 * i],
                 guestfs_last_error (gu->g));
  }
  return 0;
}

int
kiln_guest_mount (struct kiln_guest *gu, GError **err)
{
  char **mps;
  size_t n;

  if (gu->cached) {
    g_autofree char **pairs = g_new0 (char *, gu->cached->mountpoints->len + 1);

    memcpy (pairs, gu->cached->mountpoints->pdata, gu->cached->mountpoints->len * sizeof (char *));
    if (mount_pairs (gu, pairs, gu->cached->mountpoints->len / 2, true) == 0) {
      gu->mounted = true;
      return 0;
    }
    /* The entry does not fit these disks: forget it, inspect for real. */
    guestfs_umount_all (gu->g);
    kiln_inspection_forget (gu->inspection_dir, gu->inspection_key);
    kiln_event_debug ("inspect", "the inspection cache's entry did not fit: inspecting");
    inspection_clear (gu);
    if (inspect_real (gu, err) == -1)
      return -1;
    inspection_store (gu);
  }
  mps = guestfs_inspect_get_mountpoints (gu->g, gu->root);
  if (mps == NULL) {
    kiln_guest_set_error (gu, err, "cannot read the mountpoints of %s", gu->root);
    return -1;
  }
  n = g_strv_length (mps) / 2;
  mount_pairs (gu, mps, n, false);
  for (char **p = mps; *p; p++)
    free (*p);
  free (mps);
  gu->mounted = true;
  return 0;
}

int
kiln_guest_close (struct kiln_guest *gu, GError **err)
{
  int r = 0;

  if (gu->g == NULL)
    return 0;
  if (!gu->readonly && gu->mounted && gu->changed && gu->selinux_relabel &&
      kiln_guest_selinux_relabel (gu, err) == -1)
    r = -1;
  if (gu->mounted && guestfs_umount_all (gu->g) == -1 && r == 0) {
    kiln_guest_set_error (gu, err, "cannot unmount the guest's filesystems");
    r = -1;
  }
  gu->mounted = false;
  if (guestfs_shutdown (gu->g) == -1 && r == 0) {
    kiln_guest_set_error (gu, err, "the appliance did not shut down cleanly; "
                          "the image may not hold every change");
    r = -1;
  }
  guestfs_close (gu->g);
  gu->g = NULL;
  return r;
}

/* Grow the last partition of the first disk to the disk's end, then what
 * it holds, before anything is mounted (kiln create --size, a recipe's
 * output.size).  Only a primary partition is grown: moving the end of an
 * extended partition is parted's business, not kiln's. */
int
kiln_guest_grow_last_partition (struct kiln_guest *gu, GError **err)
{
  guestfs_h *g = gu->g;
  const char *dev = "/dev/sda";
  struct guestfs_partition_list *pl;
  g_autofree char *parttype = NULL, *part = NULL, *fstype = NULL;
  bool gpt;
  int last = 0;
  int64_t sectors;
  uint64_t start = 0;

  /* The disk changes under the key computed before the launch. */
  g_clear_pointer (&gu->inspection_key, g_free);
  pl = guestfs_part_list (g, dev);
  if (pl == NULL) {
    kiln_guest_set_error (gu, err, "cannot read the partition table to grow it");
    return -1;
  }
  for (uint32_t i = 0; i < pl->len; i++)
    if (pl->val[i].part_start >= start) {
      start = pl->val[i].part_start;
      last = pl->val[i].part_num;
    }
  guestfs_free_partition_list (pl);
  if (last == 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "the disk has no partition to grow");
    return -1;
  }
  parttype = take (guestfs_part_get_parttype (g, dev));
  if (parttype == NULL) {
    kiln_guest_set_error (gu, err, "unknown partition table");
    return -1;
  }
  gpt = strcmp (parttype, "gpt") == 0;
  if (strcmp (parttype, "msdos") == 0 && last > 4) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "the last partition is a logical one; kiln grows only primary partitions");
    return -1;
  }
  if (gpt && guestfs_part_expand_gpt (g, dev) == -1) {
    kiln_guest_set_error (gu, err, "cannot move the GPT backup header to the disk's end");
    return -1;
  }
  /* The GPT backup table takes the last 33 sectors. */
  sectors = guestfs_blockdev_getsz (g, dev);
  if (sectors == -1 || guestfs_part_resize (g, dev, last, sectors - (gpt ? 34 : 1)) == -1) {
    kiln_guest_set_error (gu, err, "cannot grow partition %d", last);
    return -1;
  }
  part = g_strdup_printf ("%s%d", dev, last);
  fstype = take (guestfs_vfs_type (g, part));
  kiln_event_info ("grow", "Growing %s (%s) to the end of the disk", part,
                   fstype ? fstype : "unknown");
  if (fstype && g_str_has_prefix (fstype, "ext")) {
    if (guestfs_e2fsck (g, part, GUESTFS_E2FSCK_CORRECT, 1, -1) == -1 ||
        guestfs_resize2fs (g, part) == -1) {
      kiln_guest_set_error (gu, err, "cannot grow the filesystem on %s", part);
      return -1;
    }
  } else if (g_strcmp0 (fstype, "xfs") == 0 || g_strcmp0 (fstype, "btrfs") == 0) {
    int r;

    /* Both grow only while mounted. */
    if (guestfs_mount (g, part, "/") == -1) {
      kiln_guest_set_error (gu, err, "cannot mount %s to grow it", part);
      return -1;
    }
    r = strcmp (fstype, "xfs") == 0 ? guestfs_xfs_growfs (g, "/", GUESTFS_XFS_GROWFS_DATASEC, 1, -1)
                                    : guestfs_btrfs_filesystem_resize (g, "/", -1);
    if (r == -1)
      kiln_guest_set_error (gu, err, "cannot grow the filesystem on %s", part);
    guestfs_umount_all (g);
    if (r == -1)
      return -1;
  } else if (g_strcmp0 (fstype, "LVM2_member") == 0) {
    if (guestfs_pvresize (g, part) == -1) {
      kiln_guest_set_error (gu, err, "cannot grow the LVM physical volume %s", part);
      return -1;
    }
    kiln_event_warning ("grow", "%s is an LVM physical volume: it was grown, its logical volumes were not",
                        part);
  } else {
    kiln_event_warning ("grow", "partition %s grown; its filesystem (%s) was left as it was",
                        part, fstype ? fstype : "unknown");
  }
  return 0;
}

/* SELINUX= and SELINUXTYPE= of the guest's /etc/selinux/config, read with
 * Augeas (its Selinux lens) through libguestfs.  0: the guest has no such
 * file; 1: read (*MODE set, *TYPE may be NULL); -1: the file exists but
 * Augeas cannot read it. */
static int
selinux_config (guestfs_h *g, char **mode, char **type)
{
  int r = -1;

  if (guestfs_is_file (g, "/etc/selinux/config") <= 0)
    return 0;
  /* 32: AUG_NO_LOAD; only the one lens is loaded, on the one file. */
  if (guestfs_aug_init (g, "/", 32) == -1)
    return -1;
  if (guestfs_aug_transform (g, "Selinux", "/etc/selinux/config", -1) != -1 &&
      guestfs_aug_load (g) != -1) {
    *mode = guestfs_aug_get (g, "/files/etc/selinux/config/SELINUX");
    if (*mode)
      *type = guestfs_aug_get (g, "/files/etc/selinux/config/SELINUXTYPE");
    r = *mode ? 1 : -1;
  }
  if (r == -1)
    kiln_event_debug ("selinux", "Augeas cannot read /etc/selinux/config: %s",
                      guestfs_last_error (g) ? guestfs_last_error (g) : "no SELINUX= in it");
  guestfs_aug_close (g);
  return r;
}

/* The guest's own setfiles, run in the appliance, when this libguestfs
 * has no selinux_relabel (Debian's and Ubuntu's do not): every file
 * labeled from SPECFILE.  Files whose label cannot be set because they are
 * immutable (extlinux's ldlinux.sys) only warn.  0: labeled; -1: no
 * setfiles, or it failed otherwise (the caller falls back). */
static int
guest_setfiles (guestfs_h *g, const char *specfile)
{
  const char *exe = guestfs_is_file (g, "/usr/sbin/setfiles") > 0 ? "/usr/sbin/setfiles"
                    : guestfs_is_file (g, "/sbin/setfiles") > 0 ? "/sbin/setfiles" : NULL;
  const char *argv[] = { exe, "-F", "-e", "/proc", "-e", "/sys", "-e", "/dev", specfile, "/", NULL };
  g_auto (GStrv) lines = NULL;
  char *out;
  guint n = 0;

  if (exe == NULL)
    return -1;
  out = guestfs_command (g, (char **) argv);
  if (out) {
    free (out);
    return 0;
  }
  if (guestfs_last_error (g) == NULL)
    return -1;
  lines = g_strsplit (guestfs_last_error (g), "\n", -1);
  for (char **l = lines; *l; l++) {
    if (**l == '\0')
      continue;
    if (strstr (*l, "Could not set context for") == NULL || strstr (*l, "not permitted") == NULL)
      return -1;
    n++;
  }
  if (n == 0)
    return -1;
  kiln_event_warning ("selinux", "setfiles could not label %u file%s (immutable?): %s", n,
                      n == 1 ? "" : "s", guestfs_last_error (g));
  return 0;
}

int
kiln_guest_selinux_relabel (struct kiln_guest *gu, GError **err)
{
  guestfs_h *g = gu->g;
  g_autofree char *mode = NULL, *type = NULL, *specfile = NULL;
  char *m = NULL, *t = NULL;
  int found = selinux_config (g, &m, &t);

  mode = g_strdup (m ? m : "unknown");
  type = g_strdup (t ? t : "default");
  free (m);
  free (t);
  if (found == 0 || g_ascii_strcasecmp (mode, "disabled") == 0)
    return 0;
  /* found == -1: a config nobody can read; relabelling is the safe side. */
  specfile = g_strdup_printf ("/etc/selinux/%s/contexts/files/file_contexts", type);
  if (guestfs_is_file (g, specfile) > 0 &&
      guestfs_selinux_relabel (g, specfile, "/", GUESTFS_SELINUX_RELABEL_FORCE, 1, -1) == 0) {
    kiln_event_info ("selinux", "Relabelled the guest's files (SELinux %s, policy %s)", mode, type);
    return 0;
  }
  if (guestfs_is_file (g, specfile) > 0 && guest_setfiles (g, specfile) == 0) {
    kiln_event_info ("selinux", "Relabelled the guest's files with its own setfiles (SELinux %s, "
                     "policy %s)", mode, type);
    return 0;
  }
  /* No setfiles anywhere, or no policy files: the guest relabels
   * itself at its next boot, as virt-customize falls back to. */
  if (guestfs_touch (g, "/.autorelabel") == -1) {
    kiln_guest_set_error (gu, err, "SELinux guest: cannot relabel it, nor create /.autorelabel");
    return -1;
  }
  kiln_event_warning ("selinux", "could not relabel the guest's files now (SELinux %s, policy %s); "
                      "it relabels them at its next boot (/.autorelabel)", mode, type);
  return 0;
}
