/* inspection.c: the inspection cache (inspection.h says what and why). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"           /* kiln_cache_open */
#include "fileio.h"
#include "inspection.h"
#include "qcow2.h"

#define KEY_MAGIC "kiln-inspection 1"
#define GROUP "inspection"
#define MAX_ENTRY (64 * 1024)
#define MAX_STRING 1024

/* The string answers of an entry: their keys in the file and their
 * places in struct kiln_inspection (root is checked apart: a device). */
static const struct {
  const char *key;
  size_t offset;
} strings[] = {
  { "type", G_STRUCT_OFFSET (struct kiln_inspection, type) },
  { "distro", G_STRUCT_OFFSET (struct kiln_inspection, distro) },
  { "product-name", G_STRUCT_OFFSET (struct kiln_inspection, product_name) },
  { "hostname", G_STRUCT_OFFSET (struct kiln_inspection, hostname) },
  { "arch", G_STRUCT_OFFSET (struct kiln_inspection, arch) },
  { "package-format", G_STRUCT_OFFSET (struct kiln_inspection, package_format) },
  { "package-management", G_STRUCT_OFFSET (struct kiln_inspection, package_management) },
  { "osinfo", G_STRUCT_OFFSET (struct kiln_inspection, osinfo) },
};

#define STRING_AT(in, i) G_STRUCT_MEMBER (char *, (in), strings[i].offset)

struct kiln_inspection *
kiln_inspection_new (void)
{
  struct kiln_inspection *in = g_new0 (struct kiln_inspection, 1);

  in->mountpoints = g_ptr_array_new_with_free_func (g_free);
  return in;
}

void
kiln_inspection_free (struct kiln_inspection *in)
{
  if (in == NULL)
    return;
  g_free (in->root);
  for (size_t i = 0; i < G_N_ELEMENTS (strings); i++)
    g_free (STRING_AT (in, i));
  g_ptr_array_unref (in->mountpoints);
  g_free (in);
}

/* ------------------------------------------------------------ the key */

/* PATH made absolute without resolving links: qemu opens an image by
 * the name it is given and looks a relative backing name up from that
 * name's directory, not from a link's target. */
static char *
absolute (const char *path)
{
  return g_canonicalize_filename (path, NULL);
}

/* One line naming layer PATH (absolute, as qemu names it) by what changes
 * when its bytes do, with the file it resolves to; false when PATH is not
 * a regular file. */
static bool
add_identity (GString *key, const char *path, const char *format)
{
  g_autofree char *real = kiln_path_canonical (path);
  struct stat st;

  if (stat (path, &st) == -1 || !S_ISREG (st.st_mode))
    return false;
  g_string_append_printf (key, "file %s %s -> %s dev %ju ino %ju size %jd mtime %jd.%09ld ctime %jd.%09ld\n",
                          format, path, real, (uintmax_t) st.st_dev, (uintmax_t) st.st_ino,
                          (intmax_t) st.st_size, (intmax_t) st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                          (intmax_t) st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
  return true;
}

/* Layer PATH of FORMAT: its backing file (found as qemu finds it) and that
 * file's recorded format in *NEXT and *NEXT_FMT (NULL: no backing file).
 * false (*WHY) for a layer whose bytes kiln cannot name by this file and
 * the chain below it: a format other than qcow2 and raw (a VMDK descriptor
 * names extents), a qcow2 with an external data file (its data is in
 * another file), a backing file whose format is not recorded (qemu
 * probes it, and could find a format with files of its own). */
static bool
layer (const char *path, const char *format, char **next, char **next_fmt, const char **why)
{
  g_autofree char *b = NULL, *bf = NULL;
  guint64 features = 0;

  *next = *next_fmt = NULL;
  if (strcmp (format, "raw") == 0)
    return true;
  if (strcmp (format, "qcow2") != 0) {
    *why = "a layer is neither qcow2 nor raw";
    return false;
  }
  if (kiln_qcow2_incompatible (path, &features, NULL) == -1 ||
      kiln_qcow2_backing (path, &b, &bf, NULL) == -1) {
    *why = "a qcow2 header cannot be read";
    return false;
  }
  if (features & (1u << 2)) {
    *why = "a qcow2 layer keeps its data in an external data file";
    return false;
  }
  if (b && bf == NULL) {
    *why = "a backing file's format is not recorded in its overlay (qemu would probe it)";
    return false;
  }
  if (b) {
    *next = absolute (b);
    *next_fmt = g_steal_pointer (&bf);
  }
  return true;
}

/* The host's package database, whose changes can change the appliance
 * (supermin builds it from the host's packages: Augeas lenses, LVM, the
 * kernel) without changing the libguestfs version. */
static void
add_host_packages (GString *key)
{
  static const char *const dbs[] = { "/var/lib/dpkg/status", "/var/lib/rpm", "/usr/lib/sysimage/rpm", NULL };
  struct stat st;

  for (const char *const *p = dbs; *p; p++)
    if (stat (*p, &st) == 0)
      g_string_append_printf (key, "host %s mtime %jd.%09ld\n", *p, (intmax_t) st.st_mtim.tv_sec,
                              st.st_mtim.tv_nsec);
}

/* Append disk PATH of FORMAT's identity to KEY; false (*WHY) when it
 * cannot be cached. */
static bool
add_disk (GString *key, const char *path, const char *format, bool *overlaid, const char **why)
{
  g_autofree char *cur = absolute (path), *fmt = g_strdup (format);
  guint64 top_size = 0, size;
  bool sized = false;
  gint64 data_size;

  /* Down through the empty overlays: they show their backing file. */
  for (int depth = 0; g_strcmp0 (fmt, "qcow2") == 0; depth++) {
    g_autofree char *next = NULL, *next_fmt = NULL;
    int r;

    if (depth == 64) {
      *why = "backing chain deeper than 64";
      return false;
    }
    r = kiln_qcow2_empty_overlay (cur, &size, NULL);
    if (r == -1) {
      *why = "a qcow2 header cannot be read";
      return false;
    }
    if (r == 0)
      break;
    if (sized && size != top_size) {
      *why = "an overlay's virtual size differs from its backing file's";
      return false;
    }
    top_size = size;
    sized = true;
    if (!layer (cur, fmt, &next, &next_fmt, why))
      return false;
    if (next == NULL) {
      *why = "a backing file cannot be read";
      return false;
    }
    g_free (cur);
    cur = g_steal_pointer (&next);
    g_free (fmt);
    fmt = g_steal_pointer (&next_fmt);
  }
  /* The first layer with data: the guest sees its size. */
  data_size = (strcmp (fmt, "qcow2") == 0 || strcmp (fmt, "raw") == 0)
                  ? kiln_image_virtual_size (cur, fmt, NULL) : -1;
  if (data_size < 0) {
    *why = "the image's format is neither qcow2 nor raw";
    return false;
  }
  if (sized && (guint64) data_size != top_size) {
    *why = "an overlay's virtual size differs from its backing file's";
    return false;
  }
  if (!sized)
    *overlaid = false;
  g_string_append_printf (key, "disk size %" G_GINT64_FORMAT "\n", data_size);
  /* That layer and every one below it. */
  for (int depth = 0; cur; depth++) {
    g_autofree char *next = NULL, *next_fmt = NULL;

    if (depth == 64) {
      *why = "backing chain deeper than 64";
      return false;
    }
    if (!layer (cur, fmt, &next, &next_fmt, why))
      return false;
    if (!add_identity (key, cur, fmt)) {
      *why = "a disk is not a regular file";
      return false;
    }
    g_free (cur);
    cur = g_steal_pointer (&next);
    g_free (fmt);
    fmt = g_steal_pointer (&next_fmt);
  }
  return true;
}

char *
kiln_inspection_key (GPtrArray *disks, GPtrArray *formats, const char *guestfs_id,
                     bool *overlaid, const char **why)
{
  g_autoptr (GString) key = g_string_new (KEY_MAGIC "\n");

  *why = NULL;
  *overlaid = true;
  if (disks == NULL || disks->len == 0) {
    *why = "no disk";
    return NULL;
  }
  g_string_append_printf (key, "libguestfs %s\n", guestfs_id ? guestfs_id : "?");
  add_host_packages (key);
  for (guint i = 0; i < disks->len; i++)
    if (!add_disk (key, disks->pdata[i], formats->pdata[i], overlaid, why))
      return NULL;
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, key->str, key->len);
}

/* ------------------------------------------------------------ entries */

char *
kiln_inspection_dir (const char *cache_dir, GError **err)
{
  g_autofree char *dir = g_build_filename (cache_dir, "inspection", NULL);
  struct stat st;

  if (kiln_mkdir_p (dir, 0700, err) == -1)
    return NULL;
  /* Whoever can write here can plant an entry that names another root. */
  if (lstat (dir, &st) == -1 || !S_ISDIR (st.st_mode) || st.st_uid != geteuid () ||
      (st.st_mode & (S_IWGRP | S_IWOTH))) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "%s: not a directory of yours that only you can write (chmod 700 it, or "
                 "remove it: kiln makes it again)", dir);
    return NULL;
  }
  return g_steal_pointer (&dir);
}

static bool
is_key (const char *key)
{
  if (key == NULL || strlen (key) != 64)
    return false;
  for (const char *p = key; *p; p++)
    if (!g_ascii_isxdigit (*p))
      return false;
  return true;
}

static bool
clean_string (const char *s)
{
  if (s == NULL)
    return true;
  if (strlen (s) > MAX_STRING)
    return false;
  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      return false;
  return true;
}

/* A device the appliance names: /dev/..., or a btrfs subvolume of one. */
static bool
is_device (const char *s)
{
  if (s == NULL || !clean_string (s))
    return false;
  if (g_str_has_prefix (s, "btrfsvol:"))
    s += strlen ("btrfsvol:");
  return g_str_has_prefix (s, "/dev/") && strstr (s, "/../") == NULL;
}

static char *
get_opt (GKeyFile *kf, const char *name)
{
  char *v = g_key_file_get_string (kf, GROUP, name, NULL);

  if (v && *v == '\0')
    g_clear_pointer (&v, g_free);
  return v;
}

struct kiln_inspection *
kiln_inspection_lookup (const char *inspection_dir, const char *key)
{
  g_autofree char *path = NULL, *text = NULL;
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (kiln_inspection) in = NULL;
  g_auto (GStrv) mps = NULL;
  gsize n = 0;
  ssize_t got;
  int fd;
  bool root_mp = false;

  if (inspection_dir == NULL || !is_key (key))
    return NULL;
  path = g_build_filename (inspection_dir, key, NULL);
  fd = kiln_cache_open (path, O_RDONLY, 0, NULL);
  if (fd == -1)
    return NULL;
  {
    struct stat st;

    /* An entry someone else wrote, or could have, is not taken. */
    if (fstat (fd, &st) == -1 || st.st_uid != geteuid () || (st.st_mode & (S_IWGRP | S_IWOTH))) {
      close (fd);
      return NULL;
    }
  }
  text = g_malloc (MAX_ENTRY + 1);
  got = read (fd, text, MAX_ENTRY + 1);
  close (fd);
  if (got <= 0 || got > MAX_ENTRY || memchr (text, '\0', got))
    return NULL;
  text[got] = '\0';
  if (!g_key_file_load_from_data (kf, text, got, G_KEY_FILE_NONE, NULL) ||
      g_key_file_get_integer (kf, GROUP, "version", NULL) != 1)
    return NULL;
  in = kiln_inspection_new ();
  in->root = get_opt (kf, "root");
  in->major = g_key_file_get_integer (kf, GROUP, "major", NULL);
  in->minor = g_key_file_get_integer (kf, GROUP, "minor", NULL);
  if (!is_device (in->root))
    return NULL;
  for (size_t i = 0; i < G_N_ELEMENTS (strings); i++) {
    STRING_AT (in, i) = get_opt (kf, strings[i].key);
    if (!clean_string (STRING_AT (in, i)))
      return NULL;
  }
  mps = g_key_file_get_string_list (kf, GROUP, "mountpoints", &n, NULL);
  if (mps == NULL || n == 0 || n % 2 != 0 || n > 256)
    return NULL;
  for (gsize i = 0; i < n; i += 2) {
    if (mps[i][0] != '/' || !clean_string (mps[i]) || strstr (mps[i], "/../") ||
        !is_device (mps[i + 1]))
      return NULL;
    root_mp |= strcmp (mps[i], "/") == 0;
    g_ptr_array_add (in->mountpoints, g_strdup (mps[i]));
    g_ptr_array_add (in->mountpoints, g_strdup (mps[i + 1]));
  }
  if (!root_mp)
    return NULL;
  return g_steal_pointer (&in);
}

static void
set_opt (GKeyFile *kf, const char *name, const char *v)
{
  if (v)
    g_key_file_set_string (kf, GROUP, name, v);
}

int
kiln_inspection_store (const char *inspection_dir, const char *key,
                       const struct kiln_inspection *in, GError **err)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autofree char *path = NULL, *text = NULL;
  gsize len;

  if (!is_key (key) || in->root == NULL || in->mountpoints->len == 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "not an inspection to cache");
    return -1;
  }
  g_key_file_set_integer (kf, GROUP, "version", 1);
  set_opt (kf, "root", in->root);
  for (size_t i = 0; i < G_N_ELEMENTS (strings); i++)
    set_opt (kf, strings[i].key, STRING_AT ((struct kiln_inspection *) in, i));
  g_key_file_set_integer (kf, GROUP, "major", in->major);
  g_key_file_set_integer (kf, GROUP, "minor", in->minor);
  g_key_file_set_string_list (kf, GROUP, "mountpoints",
                              (const char *const *) in->mountpoints->pdata,
                              in->mountpoints->len);
  text = g_key_file_to_data (kf, &len, NULL);
  path = g_build_filename (inspection_dir, key, NULL);
  return kiln_file_write_atomic (path, text, len, 0600, true, err);
}

void
kiln_inspection_forget (const char *inspection_dir, const char *key)
{
  g_autofree char *path = NULL;

  if (inspection_dir == NULL || !is_key (key))
    return;
  path = g_build_filename (inspection_dir, key, NULL);
  unlink (path);
}

guint
kiln_inspection_clear (const char *inspection_dir)
{
  g_autoptr (GDir) d = g_dir_open (inspection_dir, 0, NULL);
  const char *n;
  guint removed = 0;

  while (d && (n = g_dir_read_name (d)) != NULL) {
    g_autofree char *path = g_build_filename (inspection_dir, n, NULL);

    /* Entries, and what an interrupted atomic write left beside them. */
    if ((is_key (n) || g_str_has_prefix (n, ".")) && unlink (path) == 0 && is_key (n))
      removed++;
  }
  return removed;
}
