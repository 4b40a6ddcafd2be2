/* repo.c: kiln repo index DIR: publish a directory of images as a native
 * repository: an index with the size and sha512 of every image, and an
 * Ed25519 signature of it with --sign. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "kiln.h"
#include "digest.h"
#include "msg.h"
#include "opts.h"
#include "repo.h"
#include "sign.h"
#include "unpack.h"

enum { OPT_SIGN = 1 };

const struct kiln_option kiln_repo_options[] = {
  { "sign", 0, KILN_ARG_REQUIRED, "KEY.pem", "sign the index with this Ed25519 private key (index.sig)", OPT_SIGN },
  KILN_OPTION_END
};

static const char *const image_exts[] = {
  ".qcow2.xz", ".raw.xz", ".img.xz", ".tar.xz", ".qcow2.zst", ".raw.zst", ".raw.gz", ".img.gz",
  ".tar.gz", ".qcow2", ".raw", ".img", ".xz", NULL,
};

static char *
template_name (const char *file)
{
  for (const char *const *e = image_exts; *e; e++)
    if (g_str_has_suffix (file, *e) && strlen (file) > strlen (*e))
      return g_strndup (file, strlen (file) - strlen (*e));
  return NULL;
}

static gint
cmp_str (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static int
write_file (const char *dir, const char *name, const char *text, GError **err)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  if (!g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, err))
    return -1;
  return 0;
}

/* KEY=VALUE, a multi-line VALUE as continuation lines (a blank in front
 * of each further line); nothing for VALUE NULL. */
static void
append_value (GString *index, const char *key, const char *value)
{
  g_auto (GStrv) lines = NULL;
  g_autofree char *joined = NULL;

  if (value == NULL)
    return;
  lines = g_strsplit (value, "\n", -1);
  joined = g_strjoinv ("\n ", lines);
  g_string_append_printf (index, "%s=%s\n", key, joined);
}

static int
repo_index (struct kiln_ctx *ctx, const char *dir, const char *key)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &err);
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) index = g_string_new ("# kiln repository index: written by kiln repo index\n");
  g_autoptr (GPtrArray) old = NULL;
  g_autoptr (GHashTable) by_file = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const char *n;

  if (d == NULL)
    return kiln_fail (err);
  while ((n = g_dir_read_name (d))) {
    g_autofree char *name = template_name (n);

    if (n[0] == '.' || name == NULL)
      continue;
    /* The index is lines of text: what cannot be a file= line is refused
     * here, not written for every reader to trip on. */
    if (!kiln_index_file_valid (n)) {
      g_autofree char *shown = g_strescape (n, NULL);

      kiln_error ("%s/%s: a file name with a control character, ':' or '\\' cannot be "
                  "in an index: rename it", dir, shown);
      return KILN_EXIT_FAILURE;
    }
    g_ptr_array_add (files, g_strdup (n));
  }
  g_ptr_array_sort (files, cmp_str);
  /* What a person added to an earlier index (osinfo=, notes=, aliases=...)
   * is kept for the files that are still there. */
  {
    g_autofree char *old_path = g_build_filename (dir, "index", NULL);
    g_autofree char *text = NULL;
    gsize len;

    if (g_file_get_contents (old_path, &text, &len, NULL)) {
      old = kiln_index_parse (text, len, old_path, "", &err);
      if (old == NULL) {
        kiln_error ("%s (fix it, or remove it to start afresh)", err->message);
        return KILN_EXIT_FAILURE;
      }
      for (guint i = 0; i < old->len; i++) {
        struct kiln_template *t = old->pdata[i];

        /* An entry without a usable file= has nothing to carry over. */
        if (t->file)
          g_hash_table_insert (by_file, t->file, t);
      }
    }
  }
  if (files->len == 0) {
    kiln_error ("%s: no images (*.qcow2, *.raw, *.img, optionally .xz/.gz/.zst, *.tar.xz) to index", dir);
    return KILN_EXIT_FAILURE;
  }
  for (guint i = 0; i < files->len; i++) {
    const char *f = files->pdata[i];
    g_autofree char *path = g_build_filename (dir, f, NULL);
    g_autofree char *stem = template_name (f);
    g_autofree char *name = NULL;
    g_autofree char *id = NULL;
    g_autofree char *sum = NULL;
    unsigned char head[512] = { 0 };
    struct stat st;
    ssize_t hn = 0;
    int fd;
    const struct kiln_template *prev = g_hash_table_lookup (by_file, f);
    const char *arch = prev ? prev->arch : NULL;
    const char *other;

    /* The section name is a template name, whatever the file is called
     * (a ']' in it would end the header early). */
    name = prev && kiln_template_name_valid (prev->name) ? g_strdup (prev->name)
                                                        : kiln_template_name_make (stem);
    if (name == NULL) {
      kiln_error ("%s/%s: no template name can be made of '%s' (letters or digits needed): "
                  "rename it", dir, f, stem);
      return KILN_EXIT_FAILURE;
    }
    if (arch == NULL && (strstr (name, "amd64") || strstr (name, "x86_64")))
      arch = "x86_64";
    else if (arch == NULL && (strstr (name, "arm64") || strstr (name, "aarch64")))
      arch = "aarch64";
    /* An entry is (name, arch): two files that make one would be
     * ambiguous to every reader. */
    id = g_strconcat (name, "\n", arch ? arch : "", NULL);
    other = g_hash_table_lookup (ids, id);
    if (other) {
      kiln_error ("%s: %s and %s would both be template %s%s%s: rename one of them",
                  dir, other, f, name, arch ? " for " : "", arch ? arch : "");
      return KILN_EXIT_FAILURE;
    }
    g_hash_table_insert (ids, g_steal_pointer (&id), (gpointer) f);
    sum = kiln_digest_file (path, "sha512", &err);
    if (sum == NULL)
      return kiln_fail (err);
    fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat (fd, &st) != 0) {
      kiln_error ("%s: %s", path, g_strerror (errno));
      return KILN_EXIT_FAILURE;
    }
    hn = read (fd, head, sizeof head);
    close (fd);
    g_string_append_printf (index, "\n[%s]\n", name);
    append_value (index, "name", prev && prev->display_name ? prev->display_name : stem);
    append_value (index, "file", f);
    append_value (index, "checksum[sha512]", strchr (sum, ':') + 1);
    if (prev) {
      guint64 rev = 1;

      append_value (index, "osinfo", prev->osinfo);
      if (prev->aliases && prev->aliases[0]) {
        g_autofree char *a = g_strjoinv (" ", prev->aliases);

        append_value (index, "aliases", a);
      }
      append_value (index, "notes", prev->notes);
      if (prev->hidden)
        g_string_append (index, "hidden=true\n");
      /* A new image under the same name is a new revision. */
      if (prev->revision)
        g_ascii_string_to_unsigned (prev->revision, 10, 0, G_MAXUINT32, &rev, NULL);
      if (g_strcmp0 (prev->checksum, sum) != 0)
        rev++;
      g_string_append_printf (index, "revision=%" G_GUINT64_FORMAT "\n", rev);
    }
    if (kiln_unpack_needed (head, hn > 0 ? hn : 0)) {
      g_string_append_printf (index, "compressed_size=%" G_GINT64_FORMAT "\n", (gint64) st.st_size);
      g_string_append_printf (index, "format=%s\n", strstr (f, ".qcow2") ? "qcow2" : "raw");
    }
    else {
      g_string_append_printf (index, "size=%" G_GINT64_FORMAT "\n", (gint64) st.st_size);
      g_string_append_printf (index, "format=%s\n", kiln_image_format (head, hn > 0 ? hn : 0));
    }
    append_value (index, "arch", arch);
    kiln_info ("%s: %s", f, sum);
  }
  if (key) {
    g_autofree char *sig = kiln_ed25519_sign (key, index->str, index->len, &err);
    g_autofree char *line = NULL;

    if (sig == NULL)
      return kiln_fail (err);
    line = g_strconcat (sig, "\n", NULL);
    /* The signature first: a reader never sees a new index with an old
     * signature as the only state. */
    if (write_file (dir, "index.sig.new", line, &err) == -1 ||
        write_file (dir, "index", index->str, &err) == -1)
      return kiln_fail (err);
    {
      g_autofree char *a = g_build_filename (dir, "index.sig.new", NULL);
      g_autofree char *b = g_build_filename (dir, "index.sig", NULL);

      if (rename (a, b) != 0) {
        kiln_error ("%s: %s", b, g_strerror (errno));
        return KILN_EXIT_FAILURE;
      }
    }
  }
  else {
    g_autofree char *old = g_build_filename (dir, "index.sig", NULL);

    if (write_file (dir, "index", index->str, &err) == -1)
      return kiln_fail (err);
    /* A stale signature would make the new index look forged. */
    unlink (old);
  }
  printf ("%s\n", dir);
  return KILN_EXIT_OK;
}

int
kiln_cmd_repo (struct kiln_ctx *ctx, int argc, char **argv)
{
  g_autoptr (kiln_opts) p = kiln_opts_new (ctx, argc, argv);
  const char *arg = NULL, *key = NULL;
  int c, i;

  while ((c = kiln_opts_next (p, &arg)) != 0)
    if (c == OPT_SIGN)
      key = arg;
  i = kiln_opts_operand_index (p);
  if (argc - i < 1)
    return kiln_usage_error (ctx, "which action? (kiln repo index DIR)");
  if (g_strcmp0 (argv[i], "index") != 0)
    return kiln_usage_error (ctx, "unknown action '%s' (kiln repo index DIR)", argv[i]);
  if (argc - i != 2)
    return kiln_usage_error (ctx, "kiln repo index takes one directory");
  return repo_index (ctx, argv[i + 1], key);
}
