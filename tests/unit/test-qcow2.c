/* test-qcow2.c: the qcow2 overlays kiln writes itself for linked clones,
 * checked by qemu's own tools: qemu-img check finds no error or leak,
 * qemu-img info reads the size and backing file, the header matches the
 * one qemu-img create writes for the same backing file, reads go to the
 * backing file (qemu-img compare), and qemu-io can write into the overlay
 * (which allocates clusters through the refcounts kiln wrote) and leave
 * it consistent.  Sizes cover the edges of the L1 table: none, one entry,
 * exactly one L2's reach, one byte more, one full L1 cluster, one more. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "kiln.h"
#include "diskfile.h"
#include "qcow2.h"

/* Run ARGV; its exit status, its stdout in *OUT when OUT. */
static int
run (const char *const *argv, char **out)
{
  g_autoptr (GError) err = NULL;
  int status = -1;

  if (!g_spawn_sync (NULL, (char **) argv, NULL,
                     G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL |
                     (out ? 0 : G_SPAWN_STDOUT_TO_DEV_NULL),
                     NULL, NULL, out, NULL, &status, &err)) {
    diag (err->message);
    return -1;
  }
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static uint64_t
get_be (const unsigned char *p, int n)
{
  uint64_t v = 0;

  for (int i = 0; i < n; i++)
    v = v << 8 | p[i];
  return v;
}

static int
read_header (const char *path, unsigned char h[112])
{
  int fd = open (path, O_RDONLY);
  ssize_t r;

  if (fd == -1)
    return -1;
  r = pread (fd, h, 112, 0);
  close (fd);
  return r == 112 ? 0 : -1;
}

/* The header fields of A and B that do not depend on where the writer put
 * its extensions (qemu adds a feature name table) are the same. */
static void
same_header (const char *a, const char *b, const char *what)
{
  static const struct { int off, len; const char *name; } f[] = {
    { 0, 4, "magic" }, { 4, 4, "version" }, { 16, 4, "backing_file_size" },
    { 20, 4, "cluster_bits" }, { 24, 8, "size" }, { 32, 4, "crypt_method" },
    { 36, 4, "l1_size" }, { 40, 8, "l1_table_offset" },
    { 48, 8, "refcount_table_offset" }, { 56, 4, "refcount_table_clusters" },
    { 60, 4, "nb_snapshots" }, { 72, 8, "incompatible_features" },
    { 80, 8, "compatible_features" }, { 88, 8, "autoclear_features" },
    { 96, 4, "refcount_order" }, { 100, 4, "header_length" }, { 104, 1, "compression_type" },
  };
  unsigned char ha[112], hb[112];
  g_autoptr (GString) diff = g_string_new (NULL);

  if (read_header (a, ha) == -1 || read_header (b, hb) == -1) {
    ok (0, "%s: headers read", what);
    return;
  }
  for (size_t i = 0; i < G_N_ELEMENTS (f); i++)
    if (get_be (ha + f[i].off, f[i].len) != get_be (hb + f[i].off, f[i].len))
      g_string_append_printf (diff, " %s (%" G_GUINT64_FORMAT " vs %" G_GUINT64_FORMAT ")",
                              f[i].name, get_be (ha + f[i].off, f[i].len),
                              get_be (hb + f[i].off, f[i].len));
  ok (diff->len == 0, "%s: header as qemu-img create writes it%s", what, diff->str);
}

static void
check_clean (const char *path, const char *what)
{
  const char *argv[] = { "qemu-img", "check", "-q", path, NULL };

  is_int (run (argv, NULL), 0, "%s: qemu-img check finds no error and no leak", what);
}

static void
one_size (const char *dir, guint64 size, const char *backing_fmt)
{
  g_autofree char *what = g_strdup_printf ("%s backing of %" G_GUINT64_FORMAT " bytes",
                                           backing_fmt, size);
  g_autofree char *base = g_build_filename (dir, "base.img", NULL);
  g_autofree char *ours = g_build_filename (dir, "ours.qcow2", NULL);
  g_autofree char *theirs = g_build_filename (dir, "theirs.qcow2", NULL);
  g_autofree char *sz = g_strdup_printf ("%" G_GUINT64_FORMAT, size);
  g_autofree char *info = NULL, *want_size = NULL, *want_backing = NULL;
  g_autoptr (GError) err = NULL;

  unlink (base);
  unlink (ours);
  unlink (theirs);
  if (strcmp (backing_fmt, "raw") == 0) {
    int fd = open (base, O_CREAT | O_WRONLY, 0644);
    ok (fd != -1 && ftruncate (fd, (off_t) size) == 0 && close (fd) == 0, "%s: made", what);
  } else {
    const char *argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", base, sz, NULL };
    is_int (run (argv, NULL), 0, "%s: made", what);
  }
  ok (kiln_disk_create_overlay (ours, base, backing_fmt, false, &err) == 0,
      "%s: overlay written%s%s", what, err ? ": " : "", err ? err->message : "");
  {
    g_autofree char *opt = g_strdup_printf ("backing_file=%s,backing_fmt=%s", base, backing_fmt);
    const char *argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", "-o", opt, theirs, NULL };
    is_int (run (argv, NULL), 0, "%s: qemu-img's overlay made", what);
  }
  same_header (ours, theirs, what);
  check_clean (ours, what);
  {
    const char *argv[] = { "qemu-img", "info", "--output=json", ours, NULL };
    is_int (run (argv, &info), 0, "%s: qemu-img info reads it", what);
  }
  want_size = g_strdup_printf ("\"virtual-size\": %" G_GUINT64_FORMAT ",",
                               (size + 511) / 512 * 512);
  want_backing = g_strdup_printf ("\"full-backing-filename\": \"%s\"", base);
  ok (info && strstr (info, want_size), "%s: virtual size %s", what, want_size);
  ok (info && strstr (info, want_backing), "%s: backing file recorded", what);
  {
    g_autofree char *want = g_strdup_printf ("\"backing-filename-format\": \"%s\"", backing_fmt);
    ok (info && strstr (info, want), "%s: backing format recorded", what);
  }
  {
    const char *argv[] = { "qemu-img", "compare", "-q", ours, base, NULL };
    is_int (run (argv, NULL), 0, "%s: reads come from the backing file", what);
  }
}

int
main (void)
{
  g_autofree char *dir = g_dir_make_tmp ("kiln-qcow2-XXXXXX", NULL);
  g_autofree char *base = g_build_filename (dir, "data.raw", NULL);
  g_autofree char *ov = g_build_filename (dir, "data.qcow2", NULL);
  g_autofree char *out = NULL;
  g_autoptr (GError) err = NULL;
  const guint64 sizes[] = {
    0, 1, 512 << 20, (512 << 20) + 1, (guint64) 3 << 30,
    (guint64) 4 << 40, ((guint64) 4 << 40) + 1,
  };

  for (size_t i = 0; i < G_N_ELEMENTS (sizes); i++)
    one_size (dir, sizes[i], "raw");
  one_size (dir, (guint64) 3 << 30, "qcow2");
  one_size (dir, ((guint64) 4 << 40) + 1, "qcow2");

  /* Data: the overlay shows the backing file's bytes, takes writes of its
   * own (allocating an L2 table and data clusters through kiln's refcount
   * block) and leaves the backing file alone. */
  {
    int fd = open (base, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    char block[4096];

    memset (block, 'k', sizeof block);
    ok (fd != -1 && ftruncate (fd, 64 << 20) == 0 &&
        pwrite (fd, block, sizeof block, 10 << 20) == (ssize_t) sizeof block &&
        close (fd) == 0, "a raw file with data at 10 MiB");
  }
  ok (kiln_disk_create_overlay (ov, base, "raw", false, &err) == 0, "overlay on it");
  {
    const char *argv[] = { "qemu-io", "-f", "qcow2", "-c", "read -P 0x6b 10M 4k", ov, NULL };
    is_int (run (argv, &out), 0, "qemu-io reads the backing file's bytes through it");
    ok (out && strstr (out, "read 4096/4096") && !strstr (out, "Pattern verification failed"),
        "the bytes are the backing file's");
  }
  {
    const char *argv[] = { "qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 1M 192k",
                           "-c", "write -P 0x33 40M 64k", ov, NULL };
    is_int (run (argv, NULL), 0, "qemu-io writes into the overlay");
  }
  check_clean (ov, "after writes");
  {
    const char *argv[] = { "qemu-io", "-f", "qcow2", "-c", "read -P 0x5a 1M 192k",
                           "-c", "read -P 0x6b 10M 4k", "-c", "read -P 0x33 40M 64k", ov, NULL };
    g_free (out);
    out = NULL;
    is_int (run (argv, &out), 0, "qemu-io reads the writes back");
    ok (out && !strstr (out, "Pattern verification failed"), "written and backing bytes both right");
  }
  {
    const char *argv[] = { "qemu-img", "compare", "-q", ov, base, NULL };
    is_int (run (argv, NULL), 1, "the overlay now differs from its backing file");
  }

  /* Bad input: nothing is left under the name. */
  {
    g_autofree char *longname = g_strnfill (1100, 'a');
    g_autofree char *lp = g_build_filename (dir, longname, NULL);
    g_autofree char *bad = g_build_filename (dir, "bad.qcow2", NULL);
    int fd = open (bad, O_CREAT | O_WRONLY, 0600);

    g_clear_error (&err);
    ok (kiln_qcow2_write_overlay (fd, 1 << 20, lp, "raw", &err) == -1 && err &&
        strstr (err->message, "backing file name"), "a backing name over 1023 bytes is refused");
    g_clear_error (&err);
    ok (kiln_qcow2_write_overlay (fd, (guint64) 1 << 63, base, "raw", &err) == -1 && err &&
        strstr (err->message, "too large"), "an absurd size is refused");
    close (fd);
    unlink (bad);
    g_clear_error (&err);
    ok (kiln_disk_create_overlay (bad, "/nonexistent/base.raw", "raw", false, &err) == -1 &&
        err && strstr (err->message, "/nonexistent/base.raw"), "a missing backing file is named");
    ok (access (bad, F_OK) == -1, "and no overlay is left");
    {
      g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
      const char *n;
      int temps = 0;

      while (d && (n = g_dir_read_name (d)) != NULL)
        temps += g_str_has_prefix (n, ".bad.qcow2.kiln-");
      is_int (temps, 0, "nor any temporary file");
    }
  }
  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
    ok (system (cmd) == 0, "cleaned up");
  }
  return done_testing ();
}
