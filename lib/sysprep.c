/* sysprep.c: selecting sysprep operations (virt-sysprep's --operations
 * grammar), running them in their fixed order on one launched guest, and
 * the file helpers every operation uses, so that each operation in
 * sysprep/ only says which paths it touches. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <fnmatch.h>
#include <string.h>

#include "event.h"
#include "sysprep.h"

struct kiln_sysprep_sel {
  bool *on;                     /* indexed like kiln_sysprep_ops */
  bool explicit;                /* an --operations/--enable replaced the defaults */
};

size_t
kiln_sysprep_n_ops (void)
{
  size_t n = 0;

  while (kiln_sysprep_ops[n].name)
    n++;
  return n;
}

static int
op_index (const char *name)
{
  for (size_t i = 0; kiln_sysprep_ops[i].name; i++)
    if (strcmp (kiln_sysprep_ops[i].name, name) == 0)
      return (int) i;
  return -1;
}

struct kiln_sysprep_sel *
kiln_sysprep_sel_new (void)
{
  struct kiln_sysprep_sel *s = g_new0 (struct kiln_sysprep_sel, 1);
  size_t n = kiln_sysprep_n_ops ();

  s->on = g_new0 (bool, n);
  for (size_t i = 0; i < n; i++)
    s->on[i] = kiln_sysprep_ops[i].default_on;
  return s;
}

void
kiln_sysprep_sel_free (struct kiln_sysprep_sel *s)
{
  if (s == NULL)
    return;
  g_free (s->on);
  g_free (s);
}

/* Apply LIST to a copy of the selection and commit it only when every
 * item is valid, so a bad --operations leaves the selection as it was. */
static int
apply_list (struct kiln_sysprep_sel *s, const char *list, bool allow_groups,
            const char *option, GError **err)
{
  size_t n = kiln_sysprep_n_ops ();
  g_autofree bool *on = g_new0 (bool, n);
  g_auto (GStrv) items = g_strsplit (list ? list : "", ",", -1);
  g_autoptr (GPtrArray) unknown = g_ptr_array_new ();

  if (s->explicit)
    memcpy (on, s->on, n * sizeof *on);
  if (items[0] == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "%s: empty list of operations", option);
    return -1;
  }
  for (char **it = items; *it; it++) {
    char *name = g_strstrip (*it);
    bool remove = false;
    int k;

    if (*name == '\0') {
      g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                   "%s '%s': empty operation name", option, list);
      return -1;
    }
    if (allow_groups && name[0] == '-') {
      remove = true;
      name++;
    }
    if (allow_groups && (strcmp (name, "defaults") == 0 || strcmp (name, "all") == 0)) {
      bool all = strcmp (name, "all") == 0;

      for (size_t i = 0; i < n; i++)
        if (all || kiln_sysprep_ops[i].default_on)
          on[i] = !remove;
      continue;
    }
    k = op_index (name);
    if (k < 0) {
      g_ptr_array_add (unknown, name);
      continue;
    }
    on[k] = !remove;
  }
  if (unknown->len > 0) {
    g_autoptr (GString) names = g_string_new (NULL);

    for (guint i = 0; i < unknown->len; i++)
      g_string_append_printf (names, "%s'%s'", i ? ", " : "", (char *) unknown->pdata[i]);
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "%s: unknown operation%s %s (kiln sysprep --list-operations lists them)",
                 option, unknown->len > 1 ? "s" : "", names->str);
    return -1;
  }
  memcpy (s->on, on, n * sizeof *on);
  s->explicit = true;
  return 0;
}

int
kiln_sysprep_sel_operations (struct kiln_sysprep_sel *s, const char *list, GError **err)
{
  return apply_list (s, list, true, "--operations", err);
}

int
kiln_sysprep_sel_enable (struct kiln_sysprep_sel *s, const char *list, GError **err)
{
  return apply_list (s, list, false, "--enable", err);
}

bool
kiln_sysprep_sel_has (const struct kiln_sysprep_sel *s, const char *name)
{
  int k = op_index (name);

  return k >= 0 && s->on[k];
}

static const enum kiln_sysprep_phase phases[] = {
  KILN_SYSPREP_FILES, KILN_SYSPREP_CUSTOMIZE, KILN_SYSPREP_IDENTITY, KILN_SYSPREP_DISK,
};

char *
kiln_sysprep_sel_to_string (const struct kiln_sysprep_sel *s)
{
  GString *out = g_string_new (NULL);

  for (size_t p = 0; p < G_N_ELEMENTS (phases); p++)
    for (size_t i = 0; kiln_sysprep_ops[i].name; i++)
      if (s->on[i] && kiln_sysprep_ops[i].phase == phases[p])
        g_string_append_printf (out, "%s%s", out->len ? "," : "", kiln_sysprep_ops[i].name);
  return g_string_free (out, FALSE);
}

/* ---- running ---- */

/* Is PATH, or a directory above it, removed already in this run? */
static bool
is_gone (GHashTable *gone, const char *path)
{
  g_autofree char *p = g_strdup (path);

  for (;;) {
    char *slash;

    if (g_hash_table_contains (gone, p))
      return true;
    slash = strrchr (p, '/');
    if (slash == NULL || slash == p)
      return false;
    *slash = '\0';
  }
}

void
kiln_sysprep_note (struct kiln_sysprep_job *j, const char *action, const char *what)
{
  j->changes++;
  if (j->dry_run)
    kiln_event_result ("sysprep", "%s: %s %s", j->op, action, what);
  else
    kiln_event_debug ("sysprep", "%s: %s %s", j->op, action, what);
}

/* Words of a line that may hold a secret, lower case: keys (wep-key0,
 * preshared-key, PrivateKey, keys:), passwords, PSKs, PINs, tokens.  Too
 * many hides a harmless line; too few shows a secret. */
static const char *const secret_words[] = {
  "pass", "psk", "secret", "key", "pin", "token", "private", "shared", "cred", "auth", NULL
};
/* Groups of an INI file (NetworkManager keyfiles) every line of which may
 * be a secret, whatever its key ([vpn-secrets] takes any name). */
static const char *const secret_groups[] = {
  "secret", "secur", "802-1x", "wireguard", "vpn", NULL
};

static bool
has_word (const char *text, const char *const *words)
{
  g_autofree char *l = g_ascii_strdown (text, -1);

  for (const char *const *w = words; *w; w++)
    if (strstr (l, *w))
      return true;
  return false;
}

static size_t
indent_of (const char *line)
{
  return strspn (line, " \t");
}

/* Which lines of LINES (as read, not trimmed) may hold a secret: a line
 * with a secret word; every line of an INI group with a secret name; and
 * the lines indented below a secret line (a YAML block scalar or mapping,
 * such as "password: |" or "keys:").  Returns an array of LEN booleans. */
static bool *
secret_lines (GStrv lines, guint len)
{
  bool *secret = g_new0 (bool, len ? len : 1);
  bool in_group = false;
  gssize parent = -1;           /* the secret line whose indented block this is */

  for (guint i = 0; i < len; i++) {
    const char *t = lines[i] + indent_of (lines[i]);

    if (*t == '\0')
      continue;
    if (parent >= 0 && indent_of (lines[i]) > indent_of (lines[parent]))
      secret[i] = true;
    else
      parent = -1;
    if (*t == '[')
      in_group = has_word (t, secret_groups);
    else if (in_group)
      secret[i] = true;
    if (has_word (t, secret_words))
      secret[i] = true;
    if (secret[i] && parent < 0)
      parent = i;
  }
  return secret;
}

/* Lines of A (trimmed, not blank; SECRET_A says which may be secrets) that
 * B lacks, counting repeats. */
static void
lines_missing (GStrv a, const bool *secret_a, GStrv b, const char *sign, GPtrArray *out)
{
  g_autoptr (GHashTable) count = g_hash_table_new (g_str_hash, g_str_equal);

  for (char **l = b; *l; l++)
    g_hash_table_insert (count, *l,
                         GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (count, *l)) + 1));
  for (char **l = a; *l; l++) {
    guint n = GPOINTER_TO_UINT (g_hash_table_lookup (count, *l));

    if (**l == '\0')
      continue;
    if (n > 0) {
      g_hash_table_insert (count, *l, GUINT_TO_POINTER (n - 1));
      continue;
    }
    g_ptr_array_add (out, secret_a[l - a] ? g_strdup_printf ("%s (a line holding a secret)", sign)
                                          : g_strdup_printf ("%s %s", sign, *l));
  }
}

char **
kiln_sysprep_line_diff (const char *old, const char *new, guint max)
{
  g_auto (GStrv) a = g_strsplit (old, "\n", -1);
  g_auto (GStrv) b = g_strsplit (new, "\n", -1);
  g_autoptr (GPtrArray) minus = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) plus = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *out = g_ptr_array_new ();

  g_autofree bool *secret_a = secret_lines (a, g_strv_length (a));
  g_autofree bool *secret_b = secret_lines (b, g_strv_length (b));

  for (char **l = a; *l; l++)
    g_strstrip (*l);
  for (char **l = b; *l; l++)
    g_strstrip (*l);
  lines_missing (a, secret_a, b, "-", minus);
  lines_missing (b, secret_b, a, "+", plus);
  if (minus->len + plus->len > max) {
    g_ptr_array_add (out, g_strdup_printf ("%u lines removed, %u added", minus->len, plus->len));
  } else {
    for (guint i = 0; i < minus->len; i++)
      g_ptr_array_add (out, g_strdup (minus->pdata[i]));
    for (guint i = 0; i < plus->len; i++)
      g_ptr_array_add (out, g_strdup (plus->pdata[i]));
  }
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, false);
}

bool
kiln_sysprep_exists (struct kiln_sysprep_job *j, const char *path)
{
  /* exists follows symlinks; is_symlink catches the dangling ones. */
  return guestfs_exists (j->g, path) > 0 || guestfs_is_symlink (j->g, path) > 0;
}

/* ---- globbing over cached directory listings ----
 *
 * Each round trip to the appliance costs milliseconds (tens under TCG),
 * and the operations name some 200 paths, most of which do not exist.  So
 * patterns are expanded here, one path component at a time, over
 * listings of the guest's directories (one readdir each, cached for the
 * run): a pattern under a directory that its parent's listing lacks costs
 * nothing.  Directories are listed only once their path is known to hold
 * no symlink: a symlinked component (/var/run -> /run) is resolved with
 * realpath, inside the guest, first. */

struct entry {
  char *name;
  char type;                    /* readdir's ftyp: 'd' directory, 'l' symlink, ... */
};

static void
entry_free (gpointer p)
{
  struct entry *e = p;

  g_free (e->name);
  g_free (e);
}

static gint
entry_cmp (gconstpointer a, gconstpointer b)
{
  const struct entry *x = *(struct entry *const *) a, *y = *(struct entry *const *) b;

  return strcmp (x->name, y->name);
}

/* The entries of DIR (a resolved directory), sorted; empty when it cannot
 * be read. */
static GPtrArray *
list_dir (struct kiln_sysprep_job *j, const char *dir)
{
  GPtrArray *l = g_hash_table_lookup (j->listings, dir);
  struct guestfs_dirent_list *d;

  if (l)
    return l;
  l = g_ptr_array_new_with_free_func (entry_free);
  d = guestfs_readdir (j->g, dir);
  for (uint32_t i = 0; d && i < d->len; i++) {
    struct entry *e;

    if (strcmp (d->val[i].name, ".") == 0 || strcmp (d->val[i].name, "..") == 0)
      continue;
    e = g_new0 (struct entry, 1);
    e->name = g_strdup (d->val[i].name);
    e->type = d->val[i].ftyp;
    g_ptr_array_add (l, e);
  }
  if (d)
    guestfs_free_dirent_list (d);
  g_ptr_array_sort (l, entry_cmp);
  g_hash_table_insert (j->listings, g_strdup (dir), l);
  return l;
}

/* Where PATH (a symlink, or a path through one) resolves in the guest,
 * or NULL when it dangles or was removed; owned by the job's cache (the
 * operations resolve /var/run and the like many times over). */
static const char *
resolve (struct kiln_sysprep_job *j, const char *path)
{
  const char *r;

  if (is_gone (j->gone, path))
    return NULL;
  r = g_hash_table_lookup (j->realpaths, path);
  if (r == NULL) {
    char *real = guestfs_realpath (j->g, path);

    r = real ? g_strdup (real) : g_strdup ("");
    free (real);
    g_hash_table_insert (j->realpaths, g_strdup (path), (char *) r);
  }
  return *r ? r : NULL;
}

static char *
join (const char *dir, const char *name)
{
  return g_strconcat (strcmp (dir, "/") == 0 ? "" : dir, "/", name, NULL);
}

/* Add to OUT the paths under DIR (resolved) matching COMPS.  The last
 * component is not resolved: a matching symlink is itself the match. */
static int
expand (struct kiln_sysprep_job *j, const char *dir, char **comps, bool literal,
        GPtrArray *out, GError **err)
{
  GPtrArray *l;
  bool wild = !literal && strpbrk (comps[0], "*?[") != NULL;

  if (is_gone (j->gone, dir))
    return 0;
  l = list_dir (j, dir);
  for (guint i = 0; i < l->len; i++) {
    const struct entry *e = l->pdata[i];
    g_autofree char *path = NULL;

    if (wild ? fnmatch (comps[0], e->name, FNM_PERIOD) != 0 : strcmp (comps[0], e->name) != 0)
      continue;
    path = join (dir, e->name);
    if (comps[1] == NULL) {
      g_ptr_array_add (out, g_steal_pointer (&path));
    } else if (e->type == 'd') {
      if (expand (j, path, comps + 1, literal, out, err) == -1)
        return -1;
    } else if (e->type == 'l') {
      const char *real = resolve (j, path);

      if (real == NULL)
        continue;               /* dangling: nothing under it */
      if (expand (j, real, comps + 1, literal, out, err) == -1)
        return -1;
    }
  }
  return 0;
}

/* The guest paths matching PATTERN (absolute), with their directories
 * resolved. */
static GPtrArray *
match (struct kiln_sysprep_job *j, const char *pattern, bool literal, GError **err)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) parts = g_strsplit (pattern, "/", -1);
  g_autoptr (GPtrArray) comps = g_ptr_array_new ();

  for (char **p = parts; *p; p++)
    if (**p && strcmp (*p, ".") != 0)
      g_ptr_array_add (comps, *p);
  g_ptr_array_add (comps, NULL);
  if (pattern[0] != '/' || comps->len < 2) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s: bad path pattern '%s'", j->op, pattern);
    return NULL;
  }
  if (expand (j, "/", (char **) comps->pdata, literal, out, err) == -1)
    return NULL;
  return g_steal_pointer (&out);
}

static int
remove_resolved (struct kiln_sysprep_job *j, const char *real, GError **err)
{
  bool exact;

  if (is_gone (j->gone, real))
    return 0;
  /* What customize wrote on purpose in this launch stays (an ssh-inject
   * key under /root/.ssh): of a directory holding it, the rest goes. */
  if (kiln_guest_holds_kept (j->gu, real, &exact)) {
    GPtrArray *l;

    if (exact) {
      kiln_event_debug ("sysprep", "%s: keep %s (customize wrote it)", j->op, real);
      return 0;
    }
    l = list_dir (j, real);
    for (guint i = 0; i < l->len; i++) {
      g_autofree char *child = join (real, ((const struct entry *) l->pdata[i])->name);

      if (remove_resolved (j, child, err) == -1)
        return -1;
    }
    return 0;
  }
  kiln_sysprep_note (j, "remove", real);
  g_hash_table_add (j->gone, g_strdup (real));
  if (!j->dry_run && guestfs_rm_rf (j->g, real) == -1) {
    kiln_guest_set_error (j->gu, err, "%s: cannot remove %s", j->op, real);
    return -1;
  }
  return 0;
}

static int
remove_matches (struct kiln_sysprep_job *j, const char *pattern, bool literal,
                kiln_sysprep_keep_fn keep, GError **err)
{
  g_autoptr (GPtrArray) m = match (j, pattern, literal, err);

  if (m == NULL)
    return -1;
  for (guint i = 0; i < m->len; i++)
    if (!(keep && keep (j, m->pdata[i])) && remove_resolved (j, m->pdata[i], err) == -1)
      return -1;
  return 0;
}

int
kiln_sysprep_remove_globs_unless (struct kiln_sysprep_job *j, const char *const *patterns,
                                  kiln_sysprep_keep_fn keep, GError **err)
{
  for (const char *const *pat = patterns; *pat; pat++)
    if (remove_matches (j, *pat, false, keep, err) == -1)
      return -1;
  return 0;
}

int
kiln_sysprep_remove_globs (struct kiln_sysprep_job *j, const char *const *patterns,
                           GError **err)
{
  return kiln_sysprep_remove_globs_unless (j, patterns, NULL, err);
}

int
kiln_sysprep_remove (struct kiln_sysprep_job *j, const char *path, GError **err)
{
  return remove_matches (j, path, true, NULL, err);
}

int
kiln_sysprep_empty_dir (struct kiln_sysprep_job *j, const char *dir, GError **err)
{
  g_autoptr (GPtrArray) dirs = match (j, dir, true, err);

  if (dirs == NULL)
    return -1;
  for (guint i = 0; i < dirs->len; i++) {
    g_autofree char *real = g_strdup (resolve (j, dirs->pdata[i]));
    GPtrArray *l;
    int r = 0;

    if (real == NULL || guestfs_is_dir (j->g, real) <= 0)
      continue;
    /* Every entry, dotfiles too (a glob would skip them). */
    l = list_dir (j, real);
    for (guint k = 0; k < l->len && r == 0; k++) {
      g_autofree char *p = join (real, ((struct entry *) l->pdata[k])->name);

      r = remove_resolved (j, p, err);
    }
    if (r == -1)
      return -1;
  }
  return 0;
}

int
kiln_sysprep_truncate (struct kiln_sysprep_job *j, const char *path, GError **err)
{
  int64_t size;

  if (guestfs_is_file_opts (j->g, path, GUESTFS_IS_FILE_OPTS_FOLLOWSYMLINKS, 1, -1) <= 0)
    return 0;
  size = guestfs_filesize (j->g, path);
  if (size <= 0)
    return 0;
  kiln_sysprep_note (j, "empty", path);
  if (!j->dry_run && guestfs_truncate (j->g, path) == -1) {
    kiln_guest_set_error (j->gu, err, "%s: cannot empty %s", j->op, path);
    return -1;
  }
  return 0;
}

int
kiln_sysprep_write (struct kiln_sysprep_job *j, const char *path, const char *content,
                    GError **err)
{
  size_t len = strlen (content);
  bool exists = guestfs_is_file (j->g, path) > 0;
  g_autofree char *dir = g_path_get_dirname (path);

  if (exists) {
    size_t got = 0;
    char *old = kiln_guest_read_file (j->g, path, &got);
    bool same = old && got == len && memcmp (old, content, len) == 0;

    free (old);
    if (same)
      return 0;
  }
  kiln_sysprep_note (j, exists ? "change" : "create", path);
  if (j->dry_run)
    return 0;
  if (guestfs_mkdir_p (j->g, dir) == -1 ||
      kiln_guest_write_file (j->g, path, content, len) == -1 ||
      guestfs_chmod (j->g, 0644, path) == -1) {
    kiln_guest_set_error (j->gu, err, "%s: cannot write %s", j->op, path);
    return -1;
  }
  return 0;
}

int
kiln_sysprep_enable_unit (struct kiln_sysprep_job *j, const char *unit_path, GError **err)
{
  static const char wants[] = "/etc/systemd/system/multi-user.target.wants";
  g_autofree char *base = g_path_get_basename (unit_path);
  g_autofree char *link = g_build_filename (wants, base, NULL);
  char *target = guestfs_is_symlink (j->g, link) > 0 ? guestfs_readlink (j->g, link) : NULL;
  bool there = target && strcmp (target, unit_path) == 0;

  free (target);
  if (there)
    return 0;
  kiln_sysprep_note (j, "create", link);
  if (j->dry_run)
    return 0;
  if (guestfs_mkdir_p (j->g, wants) == -1 || guestfs_ln_sf (j->g, unit_path, link) == -1) {
    kiln_guest_set_error (j->gu, err, "%s: cannot enable %s", j->op, base);
    return -1;
  }
  return 0;
}

static bool
has_prefix (const char *line, const char *const *prefixes)
{
  line += strspn (line, " \t");
  for (const char *const *p = prefixes; *p; p++)
    if (g_str_has_prefix (line, *p))
      return true;
  return false;
}

int
kiln_sysprep_edit (struct kiln_sysprep_job *j, const char *path, kiln_sysprep_edit_fn fn,
                   void *data, GError **err)
{
  size_t len = 0;
  char *old;
  g_autofree char *text = NULL, *out = NULL;
  g_autoptr (GError) e = NULL;
  int64_t size;
  int r;

  if (guestfs_is_file (j->g, path) <= 0)
    return 0;
  size = guestfs_filesize (j->g, path);
  if (size > KILN_SYSPREP_EDIT_MAX) {
    kiln_event_warning ("sysprep", "%s: %s is %" PRId64 " bytes, more than a configuration file "
                        "(%d): left as it is", j->op, path, size, KILN_SYSPREP_EDIT_MAX);
    return 0;
  }
  old = kiln_guest_read_file (j->g, path, &len);
  if (old == NULL) {
    kiln_guest_set_error (j->gu, err, "%s: cannot read %s", j->op, path);
    return -1;
  }
  text = g_strndup (old, len);
  free (old);
  r = fn (path, text, len, &out, data, &e);
  switch (r) {
  case KILN_SYSPREP_EDIT_CHANGE: {
    g_autoptr (GString) s = g_string_new (out);
    g_auto (GStrv) diff = NULL;

    if (kiln_sysprep_rewrite (j, path, s, err) == -1)
      return -1;
    /* Say what changed, under the "change PATH" line (not counted). */
    diff = kiln_sysprep_line_diff (text, out, 8);
    for (char **d = diff; *d; d++) {
      if (j->dry_run)
        kiln_event_result ("sysprep", "%s:   %s", j->op, *d);
      else
        kiln_event_debug ("sysprep", "%s:   %s", j->op, *d);
    }
    return 0;
  }
  case KILN_SYSPREP_EDIT_REMOVE:
    return kiln_sysprep_remove (j, path, err);
  case KILN_SYSPREP_EDIT_KEEP:
    return 0;
  default:
    kiln_event_warning ("sysprep", "%s: %s: %s: left as it is", j->op, path,
                        e ? e->message : "cannot edit");
    return 0;
  }
}

int
kiln_sysprep_edit_glob (struct kiln_sysprep_job *j, const char *pattern, kiln_sysprep_edit_fn fn,
                        void *data, GError **err)
{
  char **files = guestfs_glob_expand (j->g, pattern);
  int r = 0;

  if (files == NULL) {
    kiln_guest_set_error (j->gu, err, "%s: cannot list %s", j->op, pattern);
    return -1;
  }
  for (char **f = files; *f; f++) {
    if (r == 0)
      r = kiln_sysprep_edit (j, *f, fn, data, err);
    free (*f);
  }
  free (files);
  return r;
}

static int
drop_prefixed (const char *path, const char *text, size_t len, char **out, void *data,
               GError **err)
{
  const char *const *prefixes = data;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GString) s = g_string_new (NULL);
  bool dropped = false;

  for (char **l = lines; *l; l++) {
    if (has_prefix (*l, prefixes)) {
      dropped = true;
      continue;
    }
    g_string_append (s, *l);
    if (l[1] != NULL)
      g_string_append_c (s, '\n');
  }
  if (!dropped)
    return KILN_SYSPREP_EDIT_KEEP;
  *out = g_string_free (g_steal_pointer (&s), false);
  return KILN_SYSPREP_EDIT_CHANGE;
}

int
kiln_sysprep_drop_lines (struct kiln_sysprep_job *j, const char *path,
                         const char *const *prefixes, GError **err)
{
  return kiln_sysprep_edit (j, path, drop_prefixed, (void *) prefixes, err);
}

int
kiln_sysprep_rewrite (struct kiln_sysprep_job *j, const char *path, const GString *content,
                      GError **err)
{
  kiln_sysprep_note (j, "change", path);
  if (!j->dry_run && kiln_guest_write_file (j->g, path, content->str, content->len) == -1) {
    kiln_guest_set_error (j->gu, err, "%s: cannot write %s", j->op, path);
    return -1;
  }
  return 0;
}

int
kiln_sysprep_unmount (struct kiln_sysprep_job *j, GError **err)
{
  if (!j->gu->mounted)
    return 0;
  if (guestfs_umount_all (j->g) == -1) {
    kiln_guest_set_error (j->gu, err, "%s: cannot unmount the guest's filesystems", j->op);
    return -1;
  }
  j->gu->mounted = false;
  return 0;
}

int
kiln_sysprep_run (const struct kiln_sysprep_sel *s, struct kiln_guest *gu,
                  struct kiln_customize *custom, bool dry_run, GError **err)
{
  struct kiln_sysprep_job j = { .gu = gu, .g = gu->g, .custom = custom, .dry_run = dry_run };
  int r = 0;

  if (gu->g == NULL || !gu->mounted) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "sysprep needs a launched guest with its filesystems mounted");
    return -1;
  }
  j.gone = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  j.listings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify) g_ptr_array_unref);
  j.realpaths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (size_t p = 0; p < G_N_ELEMENTS (phases) && r == 0; p++) {
    for (size_t i = 0; kiln_sysprep_ops[i].name && r == 0; i++) {
      const struct kiln_sysprep_op *op = &kiln_sysprep_ops[i];
      gint64 t0 = g_get_monotonic_time ();

      if (!s->on[i] || op->phase != phases[p])
        continue;
      j.op = op->name;
      j.changes = 0;
      r = op->run (&j, err);
      /* Customize operations change the guest in ways the cached
       * listings cannot follow. */
      if (op->phase == KILN_SYSPREP_CUSTOMIZE && custom && !kiln_customize_is_empty (custom)) {
        g_hash_table_remove_all (j.listings);
        g_hash_table_remove_all (j.realpaths);
      }
      if (r == 0 && !dry_run && j.changes > 0)
        gu->changed = true;
      if (r == 0 && !dry_run && j.changes > 0)
        kiln_event_info ("sysprep", "sysprep %s: %u change%s (%.1f s)", op->name, j.changes,
                         j.changes == 1 ? "" : "s", (g_get_monotonic_time () - t0) / 1e6);
    }
  }
  g_hash_table_unref (j.gone);
  g_hash_table_unref (j.listings);
  g_hash_table_unref (j.realpaths);
  /* A disk-level operation may have unmounted the guest; what the caller
   * does next (an SBOM, the SELinux relabel on close) reads its files. */
  if (r == 0 && !gu->mounted && kiln_guest_mount (gu, err) == -1)
    r = -1;
  return r;
}

int
kiln_sysprep_drop_lines_glob (struct kiln_sysprep_job *j, const char *pattern,
                              const char *const *prefixes, GError **err)
{
  return kiln_sysprep_edit_glob (j, pattern, drop_prefixed, (void *) prefixes, err);
}

int
kiln_sysprep_empty_dir_except (struct kiln_sysprep_job *j, const char *dir,
                               const char *const *keep, GError **err)
{
  char **names;
  int r = 0;

  if (guestfs_is_dir (j->g, dir) <= 0)
    return 0;
  names = guestfs_ls (j->g, dir);
  if (names == NULL) {
    kiln_guest_set_error (j->gu, err, "%s: cannot list %s", j->op, dir);
    return -1;
  }
  for (char **n = names; *n; n++) {
    g_autofree char *p = g_build_filename (dir, *n, NULL);

    if (r == 0 && !(keep && g_strv_contains (keep, *n)))
      r = kiln_sysprep_remove (j, p, err);
    free (*n);
  }
  free (names);
  return r;
}
