/* repo.c: parsers for the repository formats kiln reads (repos.d files,
 * virt-builder's native index, checksum files) and the lookup of a
 * template name through the configured repositories. */
#include <stdarg.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "repo.h"
#include "download.h"
#include "sign.h"

#define KILN_INDEX_MAX (16u << 20)

enum kiln_source_kind
kiln_source_classify (const char *source)
{
  const char *sep = strstr (source, "://");

  if (source[0] == '\0')
    return KILN_SOURCE_INVALID;
  if (sep) {
    g_autofree char *scheme = g_ascii_strdown (source, sep - source);

    if (sep[3] == '\0')
      return KILN_SOURCE_INVALID;
    if (strcmp (scheme, "https") == 0)
      return KILN_SOURCE_HTTPS;
    if (strcmp (scheme, "http") == 0)
      return KILN_SOURCE_HTTP;
    if (strcmp (scheme, "file") == 0)
      return sep[3] == '/' ? KILN_SOURCE_FILE_URL : KILN_SOURCE_INVALID;
    return KILN_SOURCE_INVALID;
  }
  for (const char *p = source; *p; p++)
    if (!g_ascii_isalnum (*p) && !strchr ("._-+", *p))
      return KILN_SOURCE_PATH;
  if (source[0] == '.' || g_file_test (source, G_FILE_TEST_EXISTS))
    return KILN_SOURCE_PATH;
  return KILN_SOURCE_TEMPLATE;
}

const char *
kiln_host_arch (void)
{
  static char arch[65];

  if (arch[0] == '\0') {
    struct utsname u;

    if (uname (&u) == 0)
      g_strlcpy (arch, u.machine, sizeof arch);
    else
      g_strlcpy (arch, "x86_64", sizeof arch);
  }
  return arch;
}

/* ---- the section/key=value syntax shared by index and .conf files ---- */

struct kv {
  char *key;
  char *value;
  int line;
};

struct section {
  char *name;
  int line;
  GPtrArray *kvs;               /* struct kv * */
  GHashTable *keys;             /* key -> struct kv *, for repeats */
  char *error;                  /* "ORIGIN line N: ..." of its first bad line, or NULL */
};

static void
kv_free (struct kv *kv)
{
  g_free (kv->key);
  g_free (kv->value);
  g_free (kv);
}

static void
section_free (struct section *s)
{
  g_free (s->name);
  g_ptr_array_unref (s->kvs);
  g_hash_table_unref (s->keys);
  g_free (s->error);
  g_free (s);
}

static const struct kv *
section_get (const struct section *s, const char *key)
{
  return g_hash_table_lookup (s->keys, key);
}

static const char *
section_value (const struct section *s, const char *key)
{
  const struct kv *kv = section_get (s, key);

  return kv ? kv->value : NULL;
}

/* Record the first problem of S (the later ones add nothing useful). */
static void G_GNUC_PRINTF (2, 3)
section_bad (struct section *s, const char *fmt, ...)
{
  va_list ap;

  if (s->error)
    return;
  va_start (ap, fmt);
  s->error = g_strdup_vprintf (fmt, ap);
  va_end (ap);
}

static bool
valid_key (const char *k, size_t len)
{
  size_t i = 0;

  while (i < len && (g_ascii_isalnum (k[i]) || k[i] == '_' || k[i] == '-' || k[i] == '.'))
    i++;
  if (i == 0)
    return false;
  if (i == len)
    return true;
  /* key[subkey] */
  if (k[i] != '[' || k[len - 1] != ']' || len - i < 3)
    return false;
  for (i++; i < len - 1; i++)
    if (!g_ascii_isalnum (k[i]) && !strchr ("_-.@,", k[i]))
      return false;
  return true;
}

/* Sections of TEXT.  Comments start with '#', continuation lines with a
 * blank; a header is '[', the name, ']' and optional trailing blanks.
 * A line that cannot be read inside a section (junk, a repeated key, a
 * continuation with nothing to continue) makes that section bad
 * (section->error) and the others stay usable; only what cannot be tied
 * to a section (binary data, a malformed header, lines before the first
 * header) fails the whole text.  Repeated section names are the caller's
 * to judge. */
static GPtrArray *
parse_sections (const char *text, size_t len, const char *origin, GError **err)
{
  g_autoptr (GPtrArray) sections = g_ptr_array_new_with_free_func ((GDestroyNotify) section_free);
  struct section *cur = NULL;
  struct kv *last = NULL;
  const char *p = text, *end = text + len;
  int lineno = 0;

  if (memchr (text, '\0', len)) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: binary data, not a text file", origin);
    return NULL;
  }
  while (p < end) {
    const char *nl = memchr (p, '\n', end - p);
    size_t n = (nl ? nl : end) - p;
    g_autofree char *line = NULL;

    lineno++;
    if (n > 0 && p[n - 1] == '\r')
      n--;
    line = g_strndup (p, n);
    p = nl ? nl + 1 : end;

    if (line[0] == ' ' || line[0] == '\t') {
      if (last == NULL) {
        if (cur == NULL) {
          g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                       "%s line %d: a continuation line must follow a key=value line", origin, lineno);
          return NULL;
        }
        section_bad (cur, "%s line %d: a continuation line must follow a key=value line",
                     origin, lineno);
        continue;
      }
      {
        char *v = g_strconcat (last->value, "\n", line + 1, NULL);

        g_free (last->value);
        last->value = v;
      }
      continue;
    }
    last = NULL;
    if (line[0] == '\0' || line[0] == '#')
      continue;
    if (line[0] == '[') {
      char *close;

      g_strchomp (line);        /* "[name]" then blanks is a header too */
      close = strrchr (line, ']');
      if (close == NULL || close[1] != '\0' || close == line + 1) {
        g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                     "%s line %d: malformed section header '%s'", origin, lineno, line);
        return NULL;
      }
      *close = '\0';
      cur = g_new0 (struct section, 1);
      cur->name = g_strdup (line + 1);
      cur->line = lineno;
      cur->kvs = g_ptr_array_new_with_free_func ((GDestroyNotify) kv_free);
      cur->keys = g_hash_table_new (g_str_hash, g_str_equal);
      g_ptr_array_add (sections, cur);
      continue;
    }
    {
      char *eq = strchr (line, '=');
      const struct kv *prev;
      struct kv *kv;

      if (cur == NULL) {
        g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, eq ? "%s line %d: key=value before any [section]"
                     : "%s line %d: expected [section], key=value or a continuation line",
                     origin, lineno);
        return NULL;
      }
      if (eq == NULL || !valid_key (line, eq - line)) {
        /* Not echoed: it may be anything, of any length. */
        section_bad (cur, "%s line %d: expected [section], key=value or a continuation line",
                     origin, lineno);
        continue;
      }
      *eq = '\0';
      prev = section_get (cur, line);
      if (prev) {
        section_bad (cur, "%s line %d: key '%s' repeated in [%s] (first at line %d)",
                     origin, lineno, line, cur->name, prev->line);
        continue;
      }
      kv = g_new0 (struct kv, 1);
      kv->key = g_strdup (line);
      kv->value = g_strdup (eq + 1);
      kv->line = lineno;
      g_ptr_array_add (cur->kvs, kv);
      g_hash_table_insert (cur->keys, kv->key, kv);
      last = kv;
    }
  }
  return g_steal_pointer (&sections);
}

/* ---- native index ---- */

void
kiln_template_free (struct kiln_template *t)
{
  if (t == NULL)
    return;
  g_free (t->repo);
  g_free (t->name);
  g_free (t->display_name);
  g_free (t->url);
  g_free (t->file);
  g_free (t->checksum);
  g_free (t->format);
  g_free (t->osinfo);
  g_free (t->arch);
  g_free (t->revision);
  g_free (t->notes);
  g_strfreev (t->aliases);
  g_free (t->error);
  g_free (t);
}

/* file= must stay inside the repository: no URL, no absolute path, no "..". */
bool
kiln_index_file_valid (const char *f)
{
  g_auto (GStrv) parts = NULL;

  if (f[0] == '\0' || f[0] == '/' || strstr (f, "://") || strchr (f, '\\') || strchr (f, ':'))
    return false;
  /* A control character would end the line or hide in a listing. */
  for (const char *p = f; *p; p++)
    if ((unsigned char) *p < 0x20 || *p == 0x7f)
      return false;
  parts = g_strsplit (f, "/", -1);
  for (char **q = parts; *q; q++)
    if (strcmp (*q, "..") == 0 || strcmp (*q, ".") == 0 || (*q)[0] == '\0')
      return false;
  return true;
}

static bool
parse_u64 (const char *s, uint64_t *out)
{
  guint64 v;

  if (s == NULL)
    return true;
  if (!g_ascii_string_to_unsigned (s, 10, 0, G_MAXUINT64, &v, NULL))
    return false;
  *out = v;
  return true;
}

bool
kiln_template_name_valid (const char *name)
{
  if (name == NULL || !g_ascii_isalnum (name[0]))
    return false;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && !strchr ("._-+", *p))
      return false;
  return true;
}

char *
kiln_template_name_make (const char *stem)
{
  g_autoptr (GString) s = g_string_new (NULL);
  bool valid_utf8 = g_utf8_validate (stem, -1, NULL);

  if (kiln_template_name_valid (stem))
    return g_strdup (stem);
  for (const char *p = stem; *p; p = valid_utf8 ? g_utf8_next_char (p) : p + 1) {
    if (g_ascii_isalnum (*p) || (s->len > 0 && strchr ("._+", *p)))
      g_string_append_c (s, *p);
    else if (s->len > 0 && s->str[s->len - 1] != '-')
      g_string_append_c (s, '-');   /* one '-' for a run of anything else */
  }
  while (s->len > 0 && !g_ascii_isalnum (s->str[s->len - 1]))
    g_string_truncate (s, s->len - 1);
  if (s->len == 0)
    return NULL;
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* The checksum of section S: checksum[sha512]=, or checksum= (the same
 * in virt-builder's format), else checksum[sha256]= (kiln's addition).
 * NULL with S marked bad when it is not one. */
static char *
index_checksum (struct section *s, const char *origin)
{
  static const struct { const char *key, *alg; } keys[] = {
    { "checksum[sha512]", "sha512" }, { "checksum", "sha512" }, { "checksum[sha256]", "sha256" },
  };
  char *found = NULL;

  for (size_t i = 0; i < G_N_ELEMENTS (keys); i++) {
    const struct kv *kv = section_get (s, keys[i].key);
    g_autofree char *trimmed = NULL;
    g_autofree char *spec = NULL;
    g_autoptr (GError) e = NULL;
    char *c;

    if (kv == NULL)
      continue;
    trimmed = g_strstrip (g_strdup (kv->value));
    spec = g_strconcat (keys[i].alg, ":", trimmed, NULL);
    c = kiln_checksum_parse (spec, NULL, &e);
    if (c == NULL) {
      section_bad (s, "%s line %d: [%s]: %s=: %s", origin, kv->line, s->name, keys[i].key, e->message);
      g_free (found);
      return NULL;
    }
    if (found && strcmp (keys[i].alg, "sha512") == 0 && strcmp (found, c) != 0) {
      section_bad (s, "%s line %d: [%s]: checksum= and checksum[sha512]= differ", origin, kv->line, s->name);
      g_free (c);
      g_free (found);
      return NULL;
    }
    if (found)
      g_free (c);
    else
      found = c;
  }
  return found;
}

GPtrArray *
kiln_index_parse (const char *text, size_t len, const char *origin,
                  const char *base_url, GError **err)
{
  g_autoptr (GPtrArray) sections = parse_sections (text, len, origin, err);
  g_autoptr (GPtrArray) out = NULL;
  g_autoptr (GHashTable) ids = NULL;

  if (sections == NULL)
    return NULL;
  /* An entry is (name, arch): virt-builder's own index has one name for
   * several architectures.  The same pair twice is ambiguous: both bad. */
  ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < sections->len; i++) {
    struct section *s = sections->pdata[i];
    const char *arch = section_value (s, "arch");
    char *id = g_strconcat (s->name, "\n", arch ? arch : "", NULL);
    struct section *prev = g_hash_table_lookup (ids, id);

    if (prev) {
      const char *what = arch ? arch : "(no arch=)";

      section_bad (s, "%s line %d: [%s] for %s is repeated (first at line %d)",
                   origin, s->line, s->name, what, prev->line);
      section_bad (prev, "%s line %d: [%s] for %s is repeated (again at line %d)",
                   origin, prev->line, s->name, what, s->line);
      g_free (id);
    }
    else {
      g_hash_table_insert (ids, id, s);
    }
  }
  out = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_template_free);
  for (guint i = 0; i < sections->len; i++) {
    struct section *s = sections->pdata[i];
    g_autoptr (kiln_template) t = g_new0 (struct kiln_template, 1);
    const struct kv *file = section_get (s, "file");
    const char *hidden = section_value (s, "hidden");
    const struct kv *kv;

    t->name = g_strdup (s->name);
    t->line = s->line;
    if (!kiln_template_name_valid (s->name))
      section_bad (s, "%s line %d: [%s] is not a template name (letters, digits, '.', '_', '-' "
                   "and '+', starting with a letter or a digit)", origin, s->line, s->name);
    if (file == NULL) {
      section_bad (s, "%s line %d: [%s] has no file=", origin, s->line, s->name);
    }
    else if (!kiln_index_file_valid (file->value)) {
      section_bad (s, "%s line %d: file=%s in [%s] is not a plain relative path inside the repository",
                   origin, file->line, file->value, s->name);
    }
    else {
      g_autofree char *esc = g_uri_escape_string (file->value, "/", FALSE);

      t->file = g_strdup (file->value);
      t->url = g_strconcat (base_url ? base_url : "", esc, NULL);
    }
    t->checksum = index_checksum (s, origin);
    t->display_name = g_strdup (section_value (s, "name"));
    t->format = g_strdup (section_value (s, "format"));
    t->osinfo = g_strdup (section_value (s, "osinfo"));
    t->arch = g_strdup (section_value (s, "arch"));
    t->revision = g_strdup (section_value (s, "revision"));
    t->notes = g_strdup (section_value (s, "notes"));
    if (hidden && strcmp (hidden, "true") != 0 && strcmp (hidden, "false") != 0)
      section_bad (s, "%s line %d: hidden=%s in [%s]: true or false", origin,
                   section_get (s, "hidden")->line, hidden, s->name);
    t->hidden = g_strcmp0 (hidden, "true") == 0;
    kv = section_get (s, "revision");
    if (kv && !g_ascii_string_to_unsigned (kv->value, 10, 0, G_MAXUINT32, NULL, NULL))
      section_bad (s, "%s line %d: revision=%s in [%s] is not a number", origin, kv->line,
                   kv->value, s->name);
    if (section_value (s, "aliases")) {
      g_autofree char *trimmed = g_strstrip (g_strdup (section_value (s, "aliases")));

      t->aliases = g_strsplit_set (trimmed, " \t\n", -1);
    }
    if (t->aliases) {
      /* Drop the empty strings that repeated blanks leave. */
      char **w = t->aliases;

      for (char **r = t->aliases; *r; r++) {
        if (**r)
          *w++ = *r;
        else
          g_free (*r);
      }
      *w = NULL;
    }
    for (const char *const *k = (const char *const[]) { "size", "compressed_size", NULL }; *k; k++) {
      kv = section_get (s, *k);
      if (kv && !parse_u64 (kv->value, strcmp (*k, "size") == 0 ? &t->size : &t->compressed_size))
        section_bad (s, "%s line %d: %s=%s in [%s] is not a number of bytes",
                     origin, kv->line, *k, kv->value, s->name);
    }
    t->error = g_strdup (s->error);
    g_ptr_array_add (out, g_steal_pointer (&t));
  }
  return g_steal_pointer (&out);
}

/* ---- checksum files ---- */

void
kiln_sum_free (struct kiln_sum *s)
{
  if (s == NULL)
    return;
  g_free (s->name);
  g_free (s->checksum);
  g_free (s);
}

static const char *
alg_for_hex_len (size_t n)
{
  return n == 64 ? "sha256" : n == 128 ? "sha512" : NULL;
}

GPtrArray *
kiln_sums_parse (const char *text, size_t len, const char *origin, GError **err)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_sum_free);
  g_autofree char *copy = g_strndup (text, len);
  g_auto (GStrv) lines = g_strsplit (copy, "\n", -1);
  bool in_signature = false;
  int lineno = 0;

  for (char **lp = lines; *lp; lp++) {
    char *line = g_strchomp (*lp);
    g_autofree char *spec = NULL;
    const char *name = NULL, *hex = NULL, *alg = NULL;
    struct kiln_sum *s;

    lineno++;
    /* Fedora's CHECKSUM is clearsigned: skip the armor around the lines. */
    if (g_str_has_prefix (line, "-----BEGIN PGP SIGNATURE"))
      in_signature = true;
    if (in_signature) {
      if (g_str_has_prefix (line, "-----END PGP SIGNATURE"))
        in_signature = false;
      continue;
    }
    if (line[0] == '\0' || line[0] == '#' || g_str_has_prefix (line, "-----BEGIN PGP SIGNED") ||
        g_str_has_prefix (line, "Hash: "))
      continue;
    if (g_str_has_prefix (line, "- "))   /* dash-escaped line of a clearsigned text */
      line += 2;
    if (g_ascii_isxdigit (line[0])) {
      /* GNU: HEX, two spaces (or space and '*' for binary mode), name */
      size_t n = strspn (line, "0123456789abcdefABCDEF");

      if (line[n] == ' ' && (line[n + 1] == ' ' || line[n + 1] == '*') && line[n + 2]) {
        line[n] = '\0';
        hex = line;
        name = line + n + 2;
        alg = alg_for_hex_len (n);
      }
    }
    else {
      /* BSD: ALG (name) = HEX */
      char *open = strstr (line, " (");
      char *close = strstr (line, ") = ");

      if (open && close && close > open) {
        *open = '\0';
        *close = '\0';
        name = open + 2;
        hex = close + 4;
        alg = g_ascii_strcasecmp (line, "SHA512") == 0 ? "sha512"
              : g_ascii_strcasecmp (line, "SHA256") == 0 ? "sha256" : NULL;
        if (alg == NULL)
          continue;            /* another algorithm (MD5, SHA1...): not ours */
      }
    }
    if (hex == NULL || name == NULL || name[0] == '\0') {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                   "%s line %d: not a checksum line (expected 'HEX  NAME' or 'SHA512 (NAME) = HEX')",
                   origin, lineno);
      return NULL;
    }
    if (alg == NULL) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                   "%s line %d: a digest of %zu hexadecimal digits is neither sha256 nor sha512",
                   origin, lineno, strlen (hex));
      return NULL;
    }
    spec = g_strconcat (alg, ":", hex, NULL);
    s = g_new0 (struct kiln_sum, 1);
    s->checksum = kiln_checksum_parse (spec, NULL, err);
    if (s->checksum == NULL) {
      kiln_sum_free (s);
      if (err && *err)
        (*err)->code = KILN_ERROR_FAILED;
      g_prefix_error (err, "%s line %d: ", origin, lineno);
      return NULL;
    }
    s->name = g_strdup (name);
    g_ptr_array_add (out, s);
  }
  return g_steal_pointer (&out);
}

const struct kiln_sum *
kiln_sums_lookup (GPtrArray *sums, const char *name)
{
  const struct kiln_sum *found = NULL;

  if (g_str_has_prefix (name, "./"))
    name += 2;
  for (guint i = 0; i < sums->len; i++) {
    const struct kiln_sum *s = sums->pdata[i];
    const char *n = g_str_has_prefix (s->name, "./") ? s->name + 2 : s->name;

    if (strcmp (n, name) == 0 &&
        (found == NULL || g_str_has_prefix (s->checksum, "sha512")))
      found = s;
  }
  return found;
}

/* ---- repos.d ---- */

void
kiln_repo_free (struct kiln_repo *r)
{
  if (r == NULL)
    return;
  g_free (r->id);
  g_free (r->uri);
  g_free (r->format);
  g_free (r->pubkey);
  g_free (r->gpgkey);
  g_free (r->conf);
  g_free (r->name);
  g_strfreev (r->aliases);
  g_free (r);
}

char **
kiln_repos_dirs (void)
{
  const char *env = g_getenv ("KILN_REPOS_DIR");
  GPtrArray *dirs = g_ptr_array_new ();

  if (env && *env) {
    g_ptr_array_add (dirs, g_strdup (env));
  }
  else {
    g_ptr_array_add (dirs, g_build_filename (g_get_user_config_dir (), "kiln", "repos.d", NULL));
    g_ptr_array_add (dirs, g_build_filename (KILN_SYSCONFDIR, "kiln", "repos.d", NULL));
  }
  g_ptr_array_add (dirs, NULL);
  return (char **) g_ptr_array_free (dirs, FALSE);
}

/* PATH relative to the directory of CONF. */
static char *
relative_to (const char *conf, const char *path)
{
  g_autofree char *dir = NULL;

  if (g_path_is_absolute (path))
    return g_strdup (path);
  dir = g_path_get_dirname (conf);
  return g_build_filename (dir, path, NULL);
}

int
kiln_repos_parse (const char *text, size_t len, const char *origin,
                  GPtrArray *repos, GError **err)
{
  g_autoptr (GPtrArray) sections = parse_sections (text, len, origin, err);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  if (sections == NULL)
    return -1;
  for (guint i = 0; i < sections->len; i++) {
    const struct section *s = sections->pdata[i];
    const struct section *prev = g_hash_table_lookup (seen, s->name);

    /* A configuration is one person's: any mistake in it is an error. */
    if (s->error) {
      g_set_error_literal (err, KILN_ERROR, KILN_ERROR_FAILED, s->error);
      return -1;
    }
    if (prev) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s line %d: section [%s] repeated (first at line %d)",
                   origin, s->line, s->name, prev->line);
      return -1;
    }
    g_hash_table_insert (seen, s->name, (gpointer) s);
  }
  for (guint i = 0; i < sections->len; i++) {
    const struct section *s = sections->pdata[i];
    const char *uri = section_value (s, "uri");
    const char *format = section_value (s, "format");
    const char *enabled = section_value (s, "enabled");
    struct kiln_repo *r;

    for (guint k = 0; k < s->kvs->len; k++) {
      const struct kv *kv = s->kvs->pdata[k];
      static const char *const known[] = { "uri", "format", "pubkey", "gpgkey", "enabled",
                                           "aliases", "name", NULL };

      if (!g_strv_contains (known, kv->key)) {
        g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                     "%s line %d: unknown key '%s' (see kiln-repos(5))", origin, kv->line, kv->key);
        return -1;
      }
    }
    if (uri == NULL || uri[0] == '\0') {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                   "%s line %d: repository [%s] has no uri=", origin, s->line, s->name);
      return -1;
    }
    if (format && strcmp (format, "native") != 0 && strcmp (format, "sums") != 0) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                   "%s line %d: format=%s: kiln reads format=native or format=sums",
                   origin, section_get (s, "format")->line, format);
      return -1;
    }
    if (section_value (s, "pubkey") && section_value (s, "gpgkey")) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                   "%s line %d: [%s] has both pubkey= and gpgkey=: choose one", origin, s->line, s->name);
      return -1;
    }
    r = g_new0 (struct kiln_repo, 1);
    r->id = g_strdup (s->name);
    r->conf = g_strdup (origin);
    r->format = g_strdup (format ? format : "native");
    r->name = g_strdup (section_value (s, "name"));
    if (g_path_is_absolute (uri))
      r->uri = g_strconcat ("file://", uri, g_str_has_suffix (uri, "/") ? "" : "/", NULL);
    else
      r->uri = g_strconcat (uri, g_str_has_suffix (uri, "/") ? "" : "/", NULL);
    if (section_value (s, "pubkey"))
      r->pubkey = relative_to (origin, section_value (s, "pubkey"));
    if (section_value (s, "gpgkey"))
      r->gpgkey = relative_to (origin, section_value (s, "gpgkey"));
    if (section_value (s, "aliases"))
      r->aliases = g_strsplit_set (section_value (s, "aliases"), " \t\n", -1);
    r->enabled = enabled == NULL || strcmp (enabled, "true") == 0 || strcmp (enabled, "1") == 0 ||
                 strcmp (enabled, "yes") == 0;
    g_ptr_array_add (repos, r);
  }
  return 0;
}

static gint
cmp_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

GPtrArray *
kiln_repos_load (GError **err)
{
  g_auto (GStrv) dirs = kiln_repos_dirs ();
  g_autoptr (GPtrArray) all = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_repo_free);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_repo_free);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (char **d = dirs; *d; d++) {
    g_autoptr (GDir) dir = g_dir_open (*d, 0, NULL);
    g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
    const char *n;

    if (dir == NULL)
      continue;
    while ((n = g_dir_read_name (dir)))
      if (g_str_has_suffix (n, ".conf"))
        g_ptr_array_add (names, g_build_filename (*d, n, NULL));
    g_ptr_array_sort (names, cmp_names);
    for (guint i = 0; i < names->len; i++) {
      g_autofree char *text = NULL;
      gsize len;

      if (!g_file_get_contents (names->pdata[i], &text, &len, err))
        return NULL;
      if (kiln_repos_parse (text, len, names->pdata[i], all, err) == -1)
        return NULL;
    }
  }
  for (guint i = 0; i < all->len; i++) {
    struct kiln_repo *r = all->pdata[i];

    if (g_hash_table_contains (seen, r->id))
      continue;
    g_hash_table_add (seen, r->id);
    if (r->enabled)
      g_ptr_array_add (out, g_steal_pointer (&all->pdata[i]));
  }
  return g_steal_pointer (&out);
}

/* ---- what a repository offers ---- */

/* Image files of a sums repository, by extension: what the name of the
 * template is without it, and the format of the image inside. */
static const struct {
  const char *ext, *format;
  int rank;                     /* the lowest wins when names collide */
} image_exts[] = {
  { ".qcow2", "qcow2", 0 }, { ".qcow2.xz", "qcow2", 1 }, { ".raw", "raw", 2 },
  { ".img", "raw", 3 }, { ".raw.xz", "raw", 4 }, { ".img.xz", "raw", 5 },
  { ".raw.zst", "raw", 6 }, { ".tar.xz", "raw", 7 }, { ".tar.gz", "raw", 8 },
  { ".tar.zst", "raw", 9 }, { ".xz", "raw", 10 },
};

static const char *
arch_from_name (const char *name)
{
  if (strstr (name, "amd64") || strstr (name, "x86_64"))
    return "x86_64";
  if (strstr (name, "arm64") || strstr (name, "aarch64"))
    return "aarch64";
  if (strstr (name, "ppc64el") || strstr (name, "ppc64le"))
    return "ppc64le";
  if (strstr (name, "riscv64"))
    return "riscv64";
  return NULL;
}

static GPtrArray *
sums_templates (const struct kiln_repo *repo, GPtrArray *sums)
{
  g_autoptr (GHashTable) by_name = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_template_free);
  g_autoptr (GArray) ranks = g_array_new (FALSE, FALSE, sizeof (int));

  for (guint i = 0; i < sums->len; i++) {
    const struct kiln_sum *s = sums->pdata[i];
    const char *file = g_str_has_prefix (s->name, "./") ? s->name + 2 : s->name;

    if (!kiln_index_file_valid (file))
      continue;
    for (size_t e = 0; e < G_N_ELEMENTS (image_exts); e++) {
      g_autofree char *name = NULL;
      struct kiln_template *t;
      gpointer idx;

      if (!g_str_has_suffix (file, image_exts[e].ext))
        continue;
      name = g_strndup (file, strlen (file) - strlen (image_exts[e].ext));
      if (g_hash_table_lookup_extended (by_name, name, NULL, &idx)) {
        guint k = GPOINTER_TO_UINT (idx);

        if (g_array_index (ranks, int, k) <= image_exts[e].rank)
          break;
        kiln_template_free (out->pdata[k]);
        g_array_index (ranks, int, k) = image_exts[e].rank;
      }
      else {
        g_ptr_array_add (out, NULL);
        g_array_append_val (ranks, image_exts[e].rank);
        idx = GUINT_TO_POINTER (out->len - 1);
      }
      t = g_new0 (struct kiln_template, 1);
      t->repo = g_strdup (repo->id);
      t->name = g_strdup (name);
      t->file = g_strdup (file);
      {
        g_autofree char *esc = g_uri_escape_string (file, "/", FALSE);

        t->url = g_strconcat (repo->uri, esc, NULL);
      }
      t->checksum = g_strdup (s->checksum);
      t->format = g_strdup (image_exts[e].format);
      t->display_name = g_strdup (repo->name);
      t->arch = g_strdup (arch_from_name (name));
      out->pdata[GPOINTER_TO_UINT (idx)] = t;
      g_hash_table_insert (by_name, t->name, idx);
      break;
    }
  }
  /* aliases=ALIAS=TEMPLATE in the repository's configuration. */
  for (char **a = repo->aliases; a && *a; a++) {
    char *eq = strchr (*a, '=');
    g_autofree char *target = NULL;
    gpointer idx;

    if (eq == NULL)
      continue;
    target = g_strdup (eq + 1);
    if (g_hash_table_lookup_extended (by_name, target, NULL, &idx)) {
      struct kiln_template *t = out->pdata[GPOINTER_TO_UINT (idx)];
      guint n = t->aliases ? g_strv_length (t->aliases) : 0;

      t->aliases = g_renew (char *, t->aliases, n + 2);
      t->aliases[n] = g_strndup (*a, eq - *a);
      t->aliases[n + 1] = NULL;
    }
  }
  return out;
}

static GBytes *
fetch_optional (const char *url, GError **err)
{
  return kiln_download_bytes (url, KILN_INDEX_MAX, err);
}

GPtrArray *
kiln_repo_templates (const struct kiln_ctx *ctx, const struct kiln_repo *repo, GError **err)
{
  GPtrArray *out = NULL;

  if (strcmp (repo->format, "native") == 0) {
    g_autofree char *url = NULL;
    g_autoptr (GBytes) data = NULL;
    g_autoptr (GBytes) text = NULL;
    gsize len;
    const char *p;

    if (repo->gpgkey) {
      /* virt-builder style: a clearsigned index.asc carries the index. */
      url = g_strconcat (repo->uri, "index.asc", NULL);
      data = fetch_optional (url, err);
      if (data == NULL) {
        if (err && *err && (*err)->code == KILN_ERROR_NOT_FOUND)
          g_prefix_error (err, "repository %s has gpgkey= but no signed index: ", repo->id);
        return NULL;
      }
      p = g_bytes_get_data (data, &len);
      text = kiln_gpg_verify_clearsigned (repo->gpgkey, p, len, url, err);
      if (text == NULL)
        return NULL;
    }
    else {
      url = g_strconcat (repo->uri, "index", NULL);
      text = fetch_optional (url, err);
      if (text == NULL)
        return NULL;
      if (repo->pubkey) {
        g_autofree char *sig_url = g_strconcat (url, ".sig", NULL);
        g_autoptr (GError) e = NULL;
        g_autoptr (GBytes) sig = fetch_optional (sig_url, &e);

        if (sig == NULL) {
          g_set_error (err, KILN_ERROR, KILN_ERROR_VERIFY,
                       "repository %s: the index is not signed (%s), but %s sets pubkey=: refusing it",
                       repo->id, e->message, repo->conf);
          return NULL;
        }
        p = g_bytes_get_data (text, &len);
        if (kiln_ed25519_verify (repo->pubkey, p, len, sig, url, err) == -1)
          return NULL;
      }
    }
    p = g_bytes_get_data (text, &len);
    out = kiln_index_parse (p, len, url, repo->uri, err);
    if (out)
      for (guint i = 0; i < out->len; i++)
        ((struct kiln_template *) out->pdata[i])->repo = g_strdup (repo->id);
    return out;
  }

  /* format=sums: the first checksum file the directory has. */
  for (const char *const *f = (const char *const[]) { "SHA512SUMS", "SHA256SUMS", "CHECKSUM", NULL }; *f; f++) {
    g_autofree char *url = g_strconcat (repo->uri, *f, NULL);
    g_autoptr (GError) e = NULL;
    g_autoptr (GBytes) data = fetch_optional (url, &e);
    g_autoptr (GBytes) text = NULL;
    g_autoptr (GPtrArray) sums = NULL;
    const char *p;
    gsize len;

    if (data == NULL) {
      if (e->code == KILN_ERROR_NOT_FOUND)
        continue;
      g_propagate_error (err, g_steal_pointer (&e));
      return NULL;
    }
    p = g_bytes_get_data (data, &len);
    if (repo->gpgkey) {
      if (len > 0 && g_str_has_prefix (p, "-----BEGIN PGP SIGNED MESSAGE")) {
        text = kiln_gpg_verify_clearsigned (repo->gpgkey, p, len, url, err);
      }
      else {
        /* Debian: a detached signature beside it. */
        g_autofree char *sig_url = g_strconcat (url, ".sign", NULL);
        g_autoptr (GBytes) sig = fetch_optional (sig_url, &e);

        if (sig == NULL) {
          g_set_error (err, KILN_ERROR, KILN_ERROR_VERIFY,
                       "repository %s: %s is not signed (%s), but %s sets gpgkey=: refusing it",
                       repo->id, url, e->message, repo->conf);
          return NULL;
        }
        if (kiln_gpg_verify_detached (repo->gpgkey, p, len, sig, url, err) == 0)
          text = g_bytes_ref (data);
      }
      if (text == NULL)
        return NULL;
      p = g_bytes_get_data (text, &len);
    }
    else if (repo->pubkey) {
      g_autofree char *sig_url = g_strconcat (url, ".sig", NULL);
      g_autoptr (GBytes) sig = fetch_optional (sig_url, &e);

      if (sig == NULL) {
        g_set_error (err, KILN_ERROR, KILN_ERROR_VERIFY,
                     "repository %s: %s is not signed, but %s sets pubkey=: refusing it",
                     repo->id, url, repo->conf);
        return NULL;
      }
      if (kiln_ed25519_verify (repo->pubkey, p, len, sig, url, err) == -1)
        return NULL;
    }
    sums = kiln_sums_parse (p, len, url, err);
    if (sums == NULL)
      return NULL;
    return sums_templates (repo, sums);
  }
  g_set_error (err, KILN_ERROR, KILN_ERROR_NOT_FOUND,
               "repository %s (%s): no SHA512SUMS, SHA256SUMS or CHECKSUM file", repo->id, repo->uri);
  return NULL;
}

static bool
template_matches (const struct kiln_template *t, const char *name)
{
  if (strcmp (t->name, name) == 0)
    return true;
  for (char **a = t->aliases; a && *a; a++)
    if (strcmp (*a, name) == 0)
      return true;
  return false;
}

struct kiln_template *
kiln_repo_find (const struct kiln_ctx *ctx, const char *name, const char *arch, GError **err)
{
  g_autoptr (GPtrArray) repos = kiln_repos_load (err);
  g_autofree char *other_arch = NULL;
  g_autoptr (GError) first = NULL;

  if (repos == NULL)
    return NULL;
  if (arch == NULL)
    arch = kiln_host_arch ();
  for (guint i = 0; i < repos->len; i++) {
    const struct kiln_repo *r = repos->pdata[i];
    g_autoptr (GError) e = NULL;
    g_autoptr (GPtrArray) ts = kiln_repo_templates (ctx, r, &e);

    /* A repository that cannot be read (or verified) does not stop the
     * search; if no other one has the template, its error is the answer. */
    if (ts == NULL) {
      if (first == NULL)
        first = g_steal_pointer (&e);
      continue;
    }
    for (guint k = 0; k < ts->len; k++) {
      struct kiln_template *t = ts->pdata[k];

      if (!template_matches (t, name))
        continue;
      if (t->arch && strcmp (t->arch, arch) != 0) {
        if (other_arch == NULL)
          other_arch = g_strdup (t->arch);
        continue;
      }
      if (t->error) {
        /* Only this entry is unusable; the index's others are not. */
        g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                     "template %s (%s) in repository %s cannot be used: %s",
                     t->name, t->arch ? t->arch : "any arch", r->id, t->error);
        return NULL;
      }
      return g_steal_pointer (&ts->pdata[k]);
    }
  }
  if (other_arch)
    g_set_error (err, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                 "template %s exists for %s, not %s (see --arch)", name, other_arch, arch);
  else if (first)
    g_propagate_error (err, g_steal_pointer (&first));
  else if (repos->len == 0)
    g_set_error (err, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                 "template %s: no repository is configured (see kiln-repos(5))", name);
  else
    g_set_error (err, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                 "no repository offers a template named %s (kiln list shows them)", name);
  return NULL;
}
