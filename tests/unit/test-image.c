/* test-image.c: kiln_image_build without an appliance launch (an overlay
 * and a standalone copy with nothing to do inside), its refusals, and
 * that nothing is left behind.  The launch paths (grow, customize,
 * sysprep) are exercised by tests/integration/21-create.sh,
 * 22-create-build-same.sh and 50-build.sh. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <guestfs.h>

#include "tap.h"
#include "image.h"

static char *dir;

static char *
path_in (const char *name)
{
  return g_build_filename (dir, name, NULL);
}

static guint
count_files (void)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  while (d && g_dir_read_name (d))
    n++;
  return n;
}

/* "BACKING FORMAT VIRTUAL-SIZE" of PATH, without a launch. */
static char *
describe (const char *path)
{
  guestfs_h *g = guestfs_create_flags (GUESTFS_CREATE_NO_ENVIRONMENT);
  g_autofree char *fmt = NULL;
  const char *backing;
  int64_t size;

  guestfs_set_error_handler (g, NULL, NULL);
  backing = guestfs_disk_has_backing_file (g, path) == 1 ? "yes" : "no";
  size = guestfs_disk_virtual_size (g, path);
  fmt = guestfs_disk_format (g, path);
  guestfs_close (g);
  return g_strdup_printf ("%s %s %" G_GINT64_FORMAT, backing, fmt ? fmt : "?", size);
}

static int
mode_of (const char *path)
{
  struct stat st;

  return stat (path, &st) == 0 ? (int) (st.st_mode & 07777) : -1;
}

int
main (void)
{
  struct kiln_ctx ctx = { .verbosity = 0 };
  struct kiln_image_result res = { 0 };
  g_autoptr (GError) err = NULL;
  g_autofree char *base = NULL, *out = NULL, *copy = NULL, *text = NULL, *info = NULL;
  guestfs_h *g;
  struct kiln_image_opts o = { .format = "qcow2" };

  dir = g_dir_make_tmp ("kiln-test-image.XXXXXX", NULL);
  base = path_in ("base.qcow2");
  out = path_in ("out.qcow2");
  copy = path_in ("copy.raw");
  text = path_in ("abc.txt");
  g_file_set_contents (text, "abc", 3, NULL);

  /* The options alone. */
  ok (kiln_image_opts_check (&o, &err) == -1 && err->code == KILN_ERROR_USAGE,
      "no output: refused");
  g_clear_error (&err);
  o.output = out;
  ok (kiln_image_build (&ctx, &o, &res, &err) == -1 && err->code == KILN_ERROR_USAGE,
      "no base: refused");
  g_clear_error (&err);
  o.base = base;
  ok (kiln_image_opts_check (&o, &err) == 0, "an overlay in qcow2 is fine");
  o.format = "raw";
  ok (kiln_image_opts_check (&o, &err) == -1 && strstr (err->message, "overlay"),
      "a raw overlay is refused");
  g_clear_error (&err);
  o.copy = true;
  ok (kiln_image_opts_check (&o, &err) == 0, "a raw copy is fine");
  o.format = "vmdk";
  ok (kiln_image_opts_check (&o, &err) == -1 && err->code == KILN_ERROR_USAGE,
      "an unknown format is refused");
  g_clear_error (&err);
  o.format = "qcow2";
  o.copy = false;

  g = guestfs_create_flags (GUESTFS_CREATE_NO_ENVIRONMENT);
  ok (guestfs_disk_create (g, base, "qcow2", 64 << 20, -1) == 0, "a 64 MiB qcow2 base");
  guestfs_close (g);

  /* An overlay with nothing to apply: no launch. */
  if (!ok (kiln_image_build (&ctx, &o, &res, &err) == 0, "overlay built"))
    diag (err->message);
  g_clear_error (&err);
  ok (!res.launched, "nothing to apply: no appliance launch");
  ok (res.digest && g_str_has_prefix (res.digest, "sha256:"), "result has the output's digest");
  ok (res.passwords && res.passwords->len == 0, "no generated password");
  info = describe (out);
  is_str (info, "yes qcow2 67108864", "output is a qcow2 overlay of the base's size");
  is_int (mode_of (out), 0600, "mode 0600 (an image holds password hashes)");
  is_int (count_files (), 3, "base, text file and output: no temporary file left");
  kiln_image_result_clear (&res);

  ok (kiln_image_build (&ctx, &o, &res, &err) == -1 && err && err->code == KILN_ERROR_EXISTS,
      "existing output refused without force");
  ok (err && strstr (err->message, "--force"), "the error says --force");
  g_clear_error (&err);

  o.force = true;
  if (!ok (kiln_image_build (&ctx, &o, &res, &err) == 0, "with force it is replaced"))
    diag (err->message);
  g_clear_error (&err);
  kiln_image_result_clear (&res);

  o.size = 1 << 20;
  ok (kiln_image_build (&ctx, &o, &res, &err) == -1 && err && strstr (err->message, "smaller"),
      "a size smaller than the base is refused");
  g_clear_error (&err);
  g_free (info);
  info = describe (out);
  is_str (info, "yes qcow2 67108864", "and the existing output is untouched");
  o.size = 0;
  o.force = false;

  /* A standalone raw copy (qemu-img convert): no launch either. */
  o.output = copy;
  o.format = "raw";
  o.copy = true;
  if (!ok (kiln_image_build (&ctx, &o, &res, &err) == 0, "raw copy built"))
    diag (err->message);
  g_clear_error (&err);
  ok (!res.launched, "a copy with nothing to apply: no launch");
  g_free (info);
  info = describe (copy);
  is_str (info, "no raw 67108864", "the copy is raw, standalone, of the base's size");
  is_int (mode_of (copy), 0600, "the copy is 0600 too");
  kiln_image_result_clear (&res);
  g_unlink (copy);

  o.output = out;
  o.format = "qcow2";
  o.copy = false;
  o.base = text;
  g_unlink (out);
  ok (kiln_image_build (&ctx, &o, &res, &err) == -1 && err && strstr (err->message, "not a disk image"),
      "a base that is not a disk image is refused");
  g_clear_error (&err);
  is_int (count_files (), 2, "and nothing is left but the inputs");

  g_unlink (text);
  g_unlink (base);
  g_rmdir (dir);
  g_free (dir);
  return done_testing ();
}
