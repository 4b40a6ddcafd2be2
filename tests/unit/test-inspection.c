/* test-inspection.c: the inspection cache's key and entries
 * (lib/inspection.h), and the empty-overlay test it rests on
 * (kiln_qcow2_empty_overlay), on images made by qemu-img and qemu-io. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "kiln.h"
#include "diskfile.h"
#include "inspection.h"
#include "qcow2.h"

static int
run (const char *const *argv)
{
  g_autoptr (GError) err = NULL;
  int status = -1;

  if (!g_spawn_sync (NULL, (char **) argv, NULL,
                     G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL | G_SPAWN_STDOUT_TO_DEV_NULL,
                     NULL, NULL, NULL, NULL, &status, &err)) {
    diag (err->message);
    return -1;
  }
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static char *tmp;

static char *
at (const char *name)
{
  return g_build_filename (tmp, name, NULL);
}

/* qemu-img create -f qcow2 [-b BACKING -F BFMT] PATH [SIZE] */
static int
qcow2 (const char *path, const char *backing, const char *bfmt, const char *size)
{
  if (backing)
    return size ? run ((const char *const[]) { "qemu-img", "create", "-q", "-f", "qcow2", "-b", backing,
                                              "-F", bfmt, path, size, NULL })
                : run ((const char *const[]) { "qemu-img", "create", "-q", "-f", "qcow2", "-b", backing,
                                              "-F", bfmt, path, NULL });
  return run ((const char *const[]) { "qemu-img", "create", "-q", "-f", "qcow2", path, size, NULL });
}

static char *
key_of (const char *const *disks, const char *id, bool *overlaid, const char **why)
{
  g_autoptr (GPtrArray) d = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) f = g_ptr_array_new_with_free_func (g_free);

  for (const char *const *p = disks; *p; p += 2) {
    g_ptr_array_add (d, g_strdup (p[0]));
    g_ptr_array_add (f, g_strdup (p[1]));
  }
  return kiln_inspection_key (d, f, id, overlaid, why);
}

static char *
key1 (const char *disk, const char *fmt, bool *overlaid, const char **why)
{
  return key_of ((const char *const[]) { disk, fmt, NULL }, "1.48.2 direct", overlaid, why);
}

static void
test_empty_overlay (void)
{
  g_autofree char *base = at ("base.qcow2"), *ov = at ("ov.qcow2"), *data = at ("data.qcow2");
  g_autofree char *snap = at ("snap.qcow2"), *mine = at ("mine.qcow2"), *raw = at ("base.raw");
  g_autofree char *gone = at ("gone.qcow2");
  g_autoptr (GError) err = NULL;
  guint64 size = 0;

  ok (qcow2 (base, NULL, NULL, "64M") == 0, "qemu-img made a base");
  is_int (kiln_qcow2_empty_overlay (base, NULL, NULL), 0, "an image without a backing file is not an overlay");
  ok (qcow2 (ov, base, "qcow2", NULL) == 0, "qemu-img made an overlay");
  is_int (kiln_qcow2_empty_overlay (ov, &size, NULL), 1, "a fresh qemu-img overlay is empty");
  is_int ((long long) size, 64 << 20, "its virtual size is read (bytes)");
  ok (kiln_disk_create_overlay (mine, base, "qcow2", false, &err) == 0, "kiln wrote an overlay");
  is_int (kiln_qcow2_empty_overlay (mine, NULL, NULL), 1, "kiln's own overlay is empty");
  ok (qcow2 (data, base, "qcow2", NULL) == 0 &&
      run ((const char *const[]) { "qemu-io", "-f", "qcow2", "-c", "write -P 7 1M 4k", data, NULL }) == 0,
      "qemu-io wrote 4 KiB into an overlay");
  is_int (kiln_qcow2_empty_overlay (data, NULL, NULL), 0, "an overlay with data is not empty");
  ok (qcow2 (snap, base, "qcow2", NULL) == 0 &&
      run ((const char *const[]) { "qemu-img", "snapshot", "-c", "s1", snap, NULL }) == 0,
      "qemu-img took an internal snapshot of an overlay");
  is_int (kiln_qcow2_empty_overlay (snap, NULL, NULL), 0, "an overlay with a snapshot is not taken as empty");
  ok (g_file_set_contents (raw, "not qcow2", -1, NULL), "a raw file");
  is_int (kiln_qcow2_empty_overlay (raw, NULL, NULL), 0, "a raw file is not an overlay");
  is_int (kiln_qcow2_empty_overlay (gone, NULL, &err), -1, "a missing file is an error");
}

static void
test_key (void)
{
  g_autofree char *base = at ("base.qcow2"), *ov = at ("ov.qcow2"), *ov2 = at ("ov2.qcow2");
  g_autofree char *data = at ("data.qcow2"), *big = at ("big.qcow2"), *mine = at ("mine.qcow2");
  g_autofree char *k_base = NULL, *k_ov = NULL, *k_ov2 = NULL, *k_mine = NULL, *k_data = NULL;
  g_autofree char *k_two = NULL, *k_id = NULL, *k_touched = NULL, *k_ov_after = NULL;
  g_autofree char *rawbase = at ("k.raw"), *rawov = at ("k-ov.qcow2"), *k_raw = NULL;
  g_autofree char *orphan = at ("orphan.qcow2"), *lost = at ("lost.qcow2"), *k_orphan = NULL;
  bool overlaid = false;
  const char *why = NULL;

  k_base = key1 (base, "qcow2", &overlaid, &why);
  ok (k_base && strlen (k_base) == 64, "a base has a key of 64 hex digits");
  ok (!overlaid, "a base on its own is not overlaid (its data is on top)");
  k_ov = key1 (ov, "qcow2", &overlaid, &why);
  ok (overlaid, "an empty overlay is overlaid");
  ok (qcow2 (ov2, base, "qcow2", NULL) == 0, "a second overlay");
  k_ov2 = key1 (ov2, "qcow2", &overlaid, &why);
  is_str (k_ov, k_base, "an empty overlay has its backing file's key (the same bytes)");
  is_str (k_ov2, k_ov, "two fresh overlays on one base have one key");
  k_mine = key1 (mine, "qcow2", &overlaid, &why);
  is_str (k_mine, k_base, "kiln's own overlay too");
  k_data = key1 (data, "qcow2", &overlaid, &why);
  ok (k_data && strcmp (k_data, k_base) != 0, "an overlay with data has its own key");
  ok (!overlaid, "... and is not overlaid");
  ok (qcow2 (big, base, "qcow2", "128M") == 0, "an overlay larger than its backing file");
  ok (key1 (big, "qcow2", &overlaid, &why) == NULL && why, "is not cached (%s)", why ? why : "-");
  k_two = key_of ((const char *const[]) { ov, "qcow2", ov2, "qcow2", NULL }, "1.48.2 direct",
                  &overlaid, &why);
  ok (k_two && strcmp (k_two, k_ov) != 0, "two disks have another key than one");
  k_id = key_of ((const char *const[]) { ov, "qcow2", NULL }, "1.50.1 direct", &overlaid, &why);
  ok (k_id && strcmp (k_id, k_ov) != 0, "another libguestfs gives another key");
  /* Any write changes the times; so does touch alone. */
  ok (run ((const char *const[]) { "touch", "-d", "2001-01-01", base, NULL }) == 0, "the base is touched");
  k_touched = key1 (base, "qcow2", &overlaid, &why);
  k_ov_after = key1 (ov, "qcow2", &overlaid, &why);
  ok (k_touched && strcmp (k_touched, k_base) != 0, "a touched base has another key");
  is_str (k_ov_after, k_touched, "and its overlay follows it");
  ok (run ((const char *const[]) { "qemu-img", "create", "-q", "-f", "raw", rawbase, "64M", NULL }) == 0 &&
      qcow2 (rawov, rawbase, "raw", NULL) == 0, "an overlay on a raw base");
  k_raw = key1 (rawov, "qcow2", &overlaid, &why);
  ok (k_raw && overlaid, "a raw base under an empty overlay is cached");
  ok (qcow2 (lost, NULL, NULL, "64M") == 0 && qcow2 (orphan, lost, "qcow2", NULL) == 0 &&
      unlink (lost) == 0, "an overlay whose backing file is gone");
  k_orphan = key1 (orphan, "qcow2", &overlaid, &why);
  ok (k_orphan == NULL && why, "is not cached (%s)", why ? why : "-");
  ok (key1 ("/dev/null", "raw", &overlaid, &why) == NULL, "a device is not cached");
}

/* Zero the type of qcow2 PATH's backing-format header extension, which
 * ends the extensions there: an overlay that does not record its backing
 * file's format (as old qemu-img made them). */
static bool
drop_backing_format (const char *path)
{
  static const unsigned char magic[4] = { 0xe2, 0x79, 0x2a, 0xca };
  unsigned char buf[4096];
  int fd = open (path, O_RDWR);
  bool done = false;

  if (fd == -1)
    return false;
  if (pread (fd, buf, sizeof buf, 0) == (ssize_t) sizeof buf)
    for (size_t i = 104; i + 4 <= sizeof buf && !done; i++)
      if (memcmp (buf + i, magic, 4) == 0)
        done = pwrite (fd, "\0\0\0\0", 4, (off_t) i) == 4;
  close (fd);
  return done;
}

static void
test_key_refusals (void)
{
  g_autofree char *base = at ("base.qcow2"), *df = at ("df.qcow2"), *dfraw = at ("df.raw");
  g_autofree char *dfopt = g_strconcat ("data_file=", dfraw, NULL);
  g_autofree char *dfov = at ("df-ov.qcow2"), *nofmt = at ("nofmt.qcow2");
  g_autofree char *da = at ("a"), *db = at ("b"), *abase = at ("a/base.qcow2"), *bbase = at ("b/base.qcow2");
  g_autofree char *btop = at ("b/top.qcow2"), *alink = at ("a/link.qcow2");
  g_autofree char *k_link = NULL, *k_top = NULL;
  bool overlaid = false;
  const char *why = NULL;

  ok (run ((const char *const[]) { "qemu-img", "create", "-q", "-f", "qcow2", "-o", dfopt,
                                    df, "64M", NULL }) == 0 && qcow2 (dfov, df, "qcow2", NULL) == 0,
      "a qcow2 with an external data file, and an empty overlay on it");
  ok (key1 (df, "qcow2", &overlaid, &why) == NULL && why && strstr (why, "data file"),
      "a data file's bytes are not in the key: not cached (%s)", why ? why : "-");
  ok (key1 (dfov, "qcow2", &overlaid, &why) == NULL, "nor an overlay on it");
  ok (qcow2 (nofmt, base, "qcow2", NULL) == 0 && drop_backing_format (nofmt), "an overlay that does not record its backing format");
  ok (key1 (nofmt, "qcow2", &overlaid, &why) == NULL && why && strstr (why, "not recorded"),
      "qemu would probe its backing file: not cached (%s)", why ? why : "-");
  /* a/link.qcow2 -> ../b/top.qcow2, whose backing name "base.qcow2" is
   * relative: qemu opens a/base.qcow2 through the link, b/base.qcow2 by
   * the real name. */
  mkdir (da, 0755);
  mkdir (db, 0755);
  ok (qcow2 (abase, NULL, NULL, "64M") == 0 && qcow2 (bbase, NULL, NULL, "64M") == 0 &&
      run ((const char *const[]) { "qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2",
                                    btop, NULL }) == 0 &&
      symlink ("../b/top.qcow2", alink) == 0, "a link to an overlay with a relative backing name");
  k_link = key1 (alink, "qcow2", &overlaid, &why);
  k_top = key1 (btop, "qcow2", &overlaid, &why);
  ok (k_link && k_top && strcmp (k_link, k_top) != 0,
      "the link and its target have different keys: the backing file is found from the name given, as qemu does");
}

static struct kiln_inspection *
sample (void)
{
  struct kiln_inspection *in = kiln_inspection_new ();

  in->root = g_strdup ("/dev/sda1");
  in->type = g_strdup ("linux");
  in->distro = g_strdup ("debian");
  in->product_name = g_strdup ("12.15; with a semicolon");
  in->arch = g_strdup ("x86_64");
  in->package_format = g_strdup ("deb");
  in->package_management = g_strdup ("apt");
  in->osinfo = g_strdup ("debian12");
  in->major = 12;
  in->minor = 15;
  for (const char *const *p = (const char *const[]) { "/", "/dev/sda1", "/boot/efi", "/dev/sda15",
                                                      "/home", "btrfsvol:/dev/sda2/@home", NULL };
       *p; p++)
    g_ptr_array_add (in->mountpoints, g_strdup (*p));
  return in;
}

static void
plant (const char *dir, const char *key, const char *text)
{
  g_autofree char *path = g_build_filename (dir, key, NULL);

  g_file_set_contents (path, text, -1, NULL);
}

static void
test_entries (void)
{
  g_autofree char *cache = at ("cache"), *dir = NULL, *link = NULL, *target = NULL, *entry = NULL;
  g_autoptr (kiln_inspection) in = sample ();
  g_autoptr (kiln_inspection) back = NULL;
  g_autoptr (GError) err = NULL;
  const char *key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  const char *bad = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
  struct stat st;

  dir = kiln_inspection_dir (cache, &err);
  ok (dir != NULL, "the inspection directory is made");
  ok (dir && stat (dir, &st) == 0 && (st.st_mode & 0777) == 0700, "mode 0700");
  ok (kiln_inspection_lookup (dir, key) == NULL, "no entry yet");
  ok (kiln_inspection_store (dir, key, in, &err) == 0, "an entry is recorded");
  back = kiln_inspection_lookup (dir, key);
  ok (back != NULL, "and read back");
  if (back) {
    is_str (back->root, "/dev/sda1", "root");
    is_str (back->distro, "debian", "distro");
    is_str (back->product_name, "12.15; with a semicolon", "product name");
    ok (back->hostname == NULL, "an unknown hostname stays unknown");
    is_int (back->major, 12, "major");
    is_int (back->minor, 15, "minor");
    is_int (back->mountpoints->len, 6, "three mountpoints");
    is_str (back->mountpoints->pdata[5], "btrfsvol:/dev/sda2/@home", "a btrfs subvolume");
  }
  ok (kiln_inspection_lookup (dir, "../x") == NULL, "a key that is not a digest reads nothing");

  plant (dir, bad, "[inspection]\nversion=1\nroot=/etc/passwd\nmountpoints=/;/dev/sda1;\n");
  ok (kiln_inspection_lookup (dir, bad) == NULL, "a root outside /dev is refused");
  plant (dir, bad, "[inspection]\nversion=1\nroot=/dev/sda1\nmountpoints=boot;/dev/sda1;\n");
  ok (kiln_inspection_lookup (dir, bad) == NULL, "a relative mountpoint is refused");
  plant (dir, bad, "[inspection]\nversion=1\nroot=/dev/sda1\nmountpoints=/boot;/dev/sda1;\n");
  ok (kiln_inspection_lookup (dir, bad) == NULL, "mountpoints without / are refused");
  plant (dir, bad, "[inspection]\nversion=1\nroot=/dev/sda1\nmountpoints=/;/dev/../etc/x;\n");
  ok (kiln_inspection_lookup (dir, bad) == NULL, "a device path going up is refused");
  plant (dir, bad, "[inspection]\nversion=1\nroot=/dev/sda1\nmountpoints=/;/dev/sda1;/x;\n");
  ok (kiln_inspection_lookup (dir, bad) == NULL, "an odd number of mountpoint fields is refused");
  plant (dir, bad, "[inspection]\nversion=2\nroot=/dev/sda1\nmountpoints=/;/dev/sda1;\n");
  ok (kiln_inspection_lookup (dir, bad) == NULL, "another version is ignored");
  plant (dir, bad, "[inspection]\nversion=1\nroot=/dev/sda1\ndistro=deb\\tian\nmountpoints=/;/dev/sda1;\n");
  ok (kiln_inspection_lookup (dir, bad) == NULL, "a control character is refused");
  plant (dir, bad, "[inspection]\nversion=1\nroot=/dev/sda1\nmountpoints=/;/dev/sda1;\n");
  {
    g_autoptr (kiln_inspection) minimal = kiln_inspection_lookup (dir, bad);

    ok (minimal != NULL, "a minimal well-formed entry is read");
  }
  {
    g_autoptr (GString) big = g_string_new ("[inspection]\nversion=1\nroot=/dev/sda1\nmountpoints=/;/dev/sda1;\n#");

    for (int i = 0; i < 70000; i++)
      g_string_append_c (big, 'x');
    plant (dir, bad, big->str);
    ok (kiln_inspection_lookup (dir, bad) == NULL, "an entry over 64 KiB is refused");
  }
  link = g_build_filename (dir, bad, NULL);
  target = g_build_filename (dir, key, NULL);
  unlink (link);
  ok (symlink (target, link) == 0 && kiln_inspection_lookup (dir, bad) == NULL,
      "a symbolic link is not followed");
  kiln_inspection_forget (dir, key);
  ok (kiln_inspection_lookup (dir, key) == NULL, "a forgotten entry is gone");
  ok (kiln_inspection_store (dir, key, in, &err) == 0, "recorded again");
  entry = g_build_filename (dir, key, NULL);
  chmod (entry, 0666);
  ok (kiln_inspection_lookup (dir, key) == NULL, "an entry others can write is not taken");
  chmod (dir, 0777);
  {
    g_autoptr (GError) e = NULL;
    g_autofree char *again = kiln_inspection_dir (cache, &e);

    ok (again == NULL && e && strstr (e->message, "chmod 700"), "an inspection directory others can write is refused");
  }
  chmod (dir, 0700);
  kiln_inspection_forget (dir, key);
  ok (kiln_inspection_store (dir, key, in, &err) == 0, "recorded again");
  is_int (kiln_inspection_clear (dir), 2, "clear removes every entry (and counts them)");
  ok (kiln_inspection_lookup (dir, key) == NULL, "nothing is left");
}

int
main (void)
{
  g_autofree char *rm = NULL;

  tmp = g_dir_make_tmp ("kiln-test-inspection-XXXXXX", NULL);
  if (tmp == NULL)
    return 1;
  test_empty_overlay ();
  test_key ();
  test_key_refusals ();
  test_entries ();
  run ((const char *const[]) { "rm", "-rf", tmp, NULL });
  return done_testing ();
}
