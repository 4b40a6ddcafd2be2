/* test-build.c: kiln_build_image without an appliance launch (overlays
 * with nothing to apply) and its refusals, and kiln_file_sha256.  The
 * launch paths are exercised by tests/integration/50-build.sh. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <guestfs.h>

#include "tap.h"
#include "build.h"

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

static char *
backing_of (const char *path)
{
  guestfs_h *g = guestfs_create_flags (GUESTFS_CREATE_NO_ENVIRONMENT);
  g_autofree char *fmt = NULL;
  char *r;
  int64_t size;

  guestfs_set_error_handler (g, NULL, NULL);
  /* disk_has_backing_file answers without a launch. */
  r = guestfs_disk_has_backing_file (g, path) == 1 ? g_strdup ("yes") : g_strdup ("no");
  size = guestfs_disk_virtual_size (g, path);
  fmt = guestfs_disk_format (g, path);
  guestfs_close (g);
  {
    char *out = g_strdup_printf ("%s %s %" G_GINT64_FORMAT, r, fmt ? fmt : "?", size);

    g_free (r);
    return out;
  }
}

int
main (void)
{
  struct kiln_ctx ctx = { .verbosity = 0 };
  struct kiln_build_image_result res = { 0 };
  g_autoptr (GError) err = NULL;
  g_autofree char *base = NULL, *out = NULL, *text = NULL, *digest = NULL, *info = NULL;
  guestfs_h *g;
  struct kiln_build_image_opts o = { .format = "qcow2" };

  dir = g_dir_make_tmp ("kiln-test-build.XXXXXX", NULL);
  base = path_in ("base.qcow2");
  out = path_in ("out.qcow2");
  text = path_in ("abc.txt");

  /* sha256 of "abc" (FIPS 180-2 example). */
  g_file_set_contents (text, "abc", 3, NULL);
  digest = kiln_file_sha256 (text, &err);
  is_str (digest, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
          "kiln_file_sha256 of abc");
  g_clear_pointer (&digest, g_free);
  digest = kiln_file_sha256 ("/nonexistent/kiln", &err);
  ok (digest == NULL && err && strstr (err->message, "/nonexistent/kiln"), "missing file named in the error");
  g_clear_error (&err);

  g = guestfs_create_flags (GUESTFS_CREATE_NO_ENVIRONMENT);
  ok (guestfs_disk_create (g, base, "qcow2", 64 << 20, -1) == 0, "a 64 MiB qcow2 base");
  guestfs_close (g);

  /* An overlay with nothing to apply: no launch. */
  o.base = base;
  o.output = out;
  if (!ok (kiln_build_image (&ctx, &o, &res, &err) == 0, "overlay built"))
    diag (err->message);
  g_clear_error (&err);
  ok (!res.launched, "nothing to apply: no appliance launch");
  ok (res.digest && g_str_has_prefix (res.digest, "sha256:"), "result has the output's digest");
  info = backing_of (out);
  is_str (info, "yes qcow2 67108864", "output is a qcow2 overlay of the base's size");
  is_int (count_files (), 3, "base, text file and output: no temporary file left");
  kiln_build_image_result_clear (&res);

  ok (kiln_build_image (&ctx, &o, &res, &err) == -1 && err && err->code == KILN_ERROR_EXISTS,
      "existing output refused without force");
  ok (err && strstr (err->message, "--force"), "the error says --force");
  g_clear_error (&err);

  o.force = true;
  o.size = 128 << 20;
  if (!ok (kiln_build_image (&ctx, &o, &res, &err) == 0, "with force it is replaced, grown"))
    diag (err->message);
  g_clear_error (&err);
  g_free (info);
  info = backing_of (out);
  is_str (info, "yes qcow2 134217728", "the new output has the new size");
  kiln_build_image_result_clear (&res);

  o.size = 1 << 20;
  ok (kiln_build_image (&ctx, &o, &res, &err) == -1 && err && strstr (err->message, "smaller"),
      "a size smaller than the base is refused");
  g_clear_error (&err);
  g_free (info);
  info = backing_of (out);
  is_str (info, "yes qcow2 134217728", "and the existing output is untouched");

  o.size = 0;
  o.format = "raw";
  ok (kiln_build_image (&ctx, &o, &res, &err) == -1 && err, "a raw overlay is refused");
  g_clear_error (&err);

  o.format = "qcow2";
  o.base = text;
  g_unlink (out);
  ok (kiln_build_image (&ctx, &o, &res, &err) == -1 && err && strstr (err->message, "not a disk image"),
      "a base that is not a disk image is refused");
  g_clear_error (&err);
  is_int (count_files (), 2, "and nothing is left but the inputs");

  g_unlink (text);
  g_unlink (base);
  g_rmdir (dir);
  g_free (dir);
  return done_testing ();
}
