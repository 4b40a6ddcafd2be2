/* customize.c: the customize operations, with virt-customize's names and
 * argument forms, in ONE table (kiln_customize_ops, near the end): a row
 * names an operation, the shape of its argument, its help, and its parse,
 * apply and describe functions.  Arguments reach an operation as typed
 * parts (split from the command line's string by the shape, or given
 * apart by a recipe) and are checked when added (a malformed one is a
 * usage error before any appliance starts; local files are read then);
 * the operations are applied in the order given on one guest.  Nothing
 * here prints: progress goes through kiln_event_*, generated passwords
 * are handed back to the caller. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "customize.h"
#include "event.h"
#include "packages.h"
#include "password.h"
#include "secret.h"
#include "value.h"

/* One checked operation; which fields are set is the row's business. */
struct kiln_customize_step {
  const struct kiln_customize_op *op;
  char *a, *b;                  /* the argument's parts (user, path, ...) */
  char **list;                  /* packages, link names */
  struct kiln_password *pw;
  char *data;                   /* --run script, --ssh-inject key */
  int mode;
};

struct kiln_customize {
  GPtrArray *steps;             /* struct kiln_customize_step *, in the order given */
  enum kiln_password_crypto crypto;
  bool no_selinux_relabel;      /* --no-selinux-relabel */
  GPtrArray *generated;         /* struct kiln_customize_password * */
};

/* Any part may hold a secret (a token in a command, a key): wiped. */
static void
step_free (struct kiln_customize_step *s)
{
  if (s == NULL)
    return;
  kiln_secret_free (s->a);
  kiln_secret_free (s->b);
  kiln_secret_strv_free (s->list);
  kiln_password_free (s->pw);
  kiln_secret_free (s->data);
  g_free (s);
}

void
kiln_customize_password_free (gpointer p)
{
  struct kiln_customize_password *g = p;

  if (g == NULL)
    return;
  g_free (g->user);
  kiln_secret_free (g->password);
  g_free (g);
}

struct kiln_customize_password *
kiln_customize_password_copy (const struct kiln_customize_password *p)
{
  struct kiln_customize_password *c = g_new0 (struct kiln_customize_password, 1);

  c->user = g_strdup (p->user);
  c->password = g_strdup (p->password);
  return c;
}

struct kiln_customize *
kiln_customize_new (void)
{
  struct kiln_customize *c = g_new0 (struct kiln_customize, 1);

  c->steps = g_ptr_array_new_with_free_func ((GDestroyNotify) step_free);
  c->generated = g_ptr_array_new_with_free_func (kiln_customize_password_free);
  return c;
}

void
kiln_customize_free (struct kiln_customize *c)
{
  if (c == NULL)
    return;
  g_ptr_array_unref (c->steps);
  g_ptr_array_unref (c->generated);
  g_free (c);
}

const GPtrArray *
kiln_customize_generated_passwords (const struct kiln_customize *c)
{
  return c->generated;
}

/* ------------------------------------------------------------ checks ---- */

static bool
usage (GError **err, const char *opt, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static bool
usage (GError **err, const char *opt, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "--%s: %s", opt, msg);
  return false;
}

char *
kiln_guest_path_normalize (const char *path, GError **err)
{
  g_auto (GStrv) parts = NULL;
  g_autoptr (GString) out = g_string_new (NULL);

  if (path == NULL || path[0] != '/') {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "'%s' is not an absolute path in the guest",
                 path ? path : "");
    return NULL;
  }
  parts = g_strsplit (path, "/", -1);
  for (char **p = parts; *p; p++) {
    if (**p == '\0' || strcmp (*p, ".") == 0)
      continue;
    if (strcmp (*p, "..") == 0) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "'%s': '..' is not allowed in guest paths", path);
      return NULL;
    }
    g_string_append_c (out, '/');
    g_string_append (out, *p);
  }
  if (out->len == 0)
    g_string_append_c (out, '/');
  return g_string_free (g_steal_pointer (&out), FALSE);
}

int
kiln_customize_normalize_paths (const struct kiln_customize_op *op, char **args, GError **err)
{
  unsigned top = 0;

  for (unsigned i = 0; i < 32; i++)
    if (op->guest & KILN_CUSTOMIZE_PART (i))
      top = i;
  for (unsigned i = 0; args && args[i]; i++) {
    g_autoptr (GError) e = NULL;
    char *n;

    /* Past part 31 only a list's tail can hold guest paths (a shift by
     * 32 or more is undefined: found by the customize fuzzer). */
    bool part = i < 32 && (op->guest & KILN_CUSTOMIZE_PART (i));

    if (!(part || (op->guest && op->shape == KILN_CUSTOMIZE_HEAD_LIST && i > top)))
      continue;
    n = kiln_guest_path_normalize (args[i], &e);
    if (n == NULL) {
      usage (err, op->name, "%s", e->message);
      return -1;
    }
    if ((op->flags & KILN_CUSTOMIZE_NOT_ROOT) && strcmp (n, "/") == 0) {
      usage (err, op->name, "'%s' is the guest's root directory: refusing to %s it", args[i],
             strcmp (op->name, "delete") == 0 ? "delete" : "replace");
      g_free (n);
      return -1;
    }
    g_free (args[i]);
    args[i] = n;
  }
  return 0;
}

static bool
timezone_ok (const char *tz)
{
  if (tz == NULL || tz[0] == '\0' || tz[0] == '/' || strstr (tz, "..") != NULL)
    return false;
  for (const char *p = tz; *p; p++)
    if (!g_ascii_isalnum (*p) && strchr ("/_+-", *p) == NULL)
      return false;
  return true;
}

/* The newest ~/.ssh/id*.pub of the user running kiln (ssh-copy-id's default). */
static char *
default_ssh_key (GError **err)
{
  g_autofree char *dir = g_build_filename (g_get_home_dir (), ".ssh", NULL);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_autofree char *best = NULL;
  gint64 best_mtime = -1;
  const char *name;

  while (d && (name = g_dir_read_name (d)) != NULL) {
    g_autofree char *path = NULL;
    struct stat st;

    if (!g_str_has_prefix (name, "id") || !g_str_has_suffix (name, ".pub"))
      continue;
    path = g_build_filename (dir, name, NULL);
    if (stat (path, &st) == 0 && st.st_mtime > best_mtime) {
      best_mtime = st.st_mtime;
      g_free (best);
      best = g_steal_pointer (&path);
    }
  }
  if (best == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "--ssh-inject: no key given and no %s/id*.pub to take one from", dir);
    return NULL;
  }
  return g_steal_pointer (&best);
}

static char *
read_key_file (const char *path, GError **err)
{
  g_autofree char *data = NULL;
  g_autoptr (GError) e = NULL;

  if (!g_file_get_contents (path, &data, NULL, &e)) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "--ssh-inject: %s", e->message);
    return NULL;
  }
  g_strstrip (data);
  if (data[0] == '\0' || strchr (data, '\n') != NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "--ssh-inject: %s must hold exactly one public key line", path);
    return NULL;
  }
  return g_steal_pointer (&data);
}


/* ------------------------------------------------------------ parse ---- */

#define NAME(s) ((s)->op->name)

static bool
parse_none (struct kiln_customize *c G_GNUC_UNUSED, struct kiln_customize_step *s G_GNUC_UNUSED,
            const char *const *args G_GNUC_UNUSED, GError **err G_GNUC_UNUSED)
{
  return true;
}

/* root-password: (SELECTOR); password: (USER, SELECTOR). */
static bool
parse_password (struct kiln_customize *c G_GNUC_UNUSED, struct kiln_customize_step *s,
                const char *const *args, GError **err)
{
  const char *sel = args[1] ? args[1] : args[0];

  s->a = g_strdup (args[1] ? args[0] : "root");
  if (!kiln_user_name_valid (s->a))
    return usage (err, NAME (s), "'%s' is not a user name", s->a);
  s->pw = kiln_password_parse (sel, err);
  if (s->pw == NULL) {
    g_prefix_error (err, "--%s: ", NAME (s));
    return false;
  }
  if (s->pw->file_exposed)
    kiln_event_warning ("customize", "password file %s can be read by other users (chmod 600 it)",
                        s->pw->file);
  return true;
}

static bool
parse_crypto (struct kiln_customize *c, struct kiln_customize_step *s,
              const char *const *args, GError **err)
{
  if (!kiln_password_parse_crypto (args[0], &c->crypto))
    return usage (err, NAME (s), "takes yescrypt or sha512, not '%s'", args[0]);
  return true;
}

static bool
parse_selinux_relabel (struct kiln_customize *c, struct kiln_customize_step *s,
                       const char *const *args G_GNUC_UNUSED, GError **err G_GNUC_UNUSED)
{
  c->no_selinux_relabel = g_str_has_prefix (NAME (s), "no-");
  return true;
}

static bool
parse_packages (struct kiln_customize *c G_GNUC_UNUSED, struct kiln_customize_step *s,
                const char *const *args, GError **err)
{
  for (const char *const *p = args; *p; p++)
    if (!kiln_package_name_ok (*p))
      return usage (err, NAME (s), "'%s' is not a package name", *p);
  s->list = g_strdupv ((char **) args);
  return true;
}

static bool
parse_run (struct kiln_customize *c G_GNUC_UNUSED, struct kiln_customize_step *s,
           const char *const *args, GError **err)
{
  g_autoptr (GError) e = NULL;

  s->a = g_strdup (args[0]);
  if (!g_file_get_contents (s->a, &s->data, NULL, &e))
    return usage (err, NAME (s), "%s", e->message);
  return true;
}

static bool
parse_command (struct kiln_customize *c G_GNUC_UNUSED, struct kiln_customize_step *s,
               const char *const *args, GError **err)
{
  if (args[0][0] == '\0')
    return usage (err, NAME (s), "empty command");
  s->a = g_strdup (args[0]);
  return true;
}

/* write, append-line: (FILE, CONTENT); CONTENT may be empty and hold colons. */
static bool
parse_write (struct kiln_customize *c G_GNUC_UNUSED, struct kiln_customize_step *s,
             const char *const *args, GError **err)
{
  s->a = g_strdup (args[0]);
  s->b = g_strdup (args[1]);
  return true;
}

static bool
parse_append_line (struct kiln_customize *c, struct kiln_customize_step *s,
                   const char *const *args, GError **err)
{
  if (strchr (args[1], '\n') != NULL)
    return usage (err, NAME (s), "LINE must not hold a newline");
  return parse_write (c, s, args, err);
}

/* upload, copy-in: (LOCAL, GUEST-PATH). */
static bool
parse_copy_in (struct kiln_customize *c G_GNUC_UNUSED, struct kiln_customize_step *s,
               const char *const *args, GError **err)
{
  struct stat st;

  s->a = g_strdup (args[0]);
  s->b = g_strdup (args[1]);
  if (stat (s->a, &st) != 0)
    return usage (err, NAME (s), "%s: %s", s->a, g_strerror (errno));
  return true;
}

static bool
parse_upload (struct kiln_customize *c, struct kiln_customize_step *s,
              const char *const *args, GError **err)
{
  struct stat st;

  if (!parse_copy_in (c, s, args, err))
    return false;
  if (stat (s->a, &st) == 0 && !S_ISREG (st.st_mode))
    return usage (err, NAME (s), "%s is not a regular file (use --copy-in for trees)", s->a);
  return true;
}

/* mkdir, delete, touch: (GUEST-PATH), normalized and checked by the
 * row's guest bits (kiln_customize_normalize_paths). */
static bool
parse_guest_path (struct kiln_customize *c G_GNUC_UNUSED, struct kiln_customize_step *s,
                  const char *const *args, GError **err G_GNUC_UNUSED)
{
  s->a = g_strdup (args[0]);
  return true;
}

/* chmod: (MODE, FILE), MODE in octal. */
static bool
parse_chmod (struct kiln_customize *c G_GNUC_UNUSED, struct kiln_customize_step *s,
             const char *const *args, GError **err)
{
  char *end = NULL;
  long m;

  errno = 0;
  m = strtol (args[0], &end, 8);
  if (args[0][0] == '\0' || errno != 0 || *end != '\0' || m < 0 || m > 07777)
    return usage (err, NAME (s), "'%s' is not an octal mode (e.g. 0644)", args[0]);
  s->mode = (int) m;
  s->b = g_strdup (args[1]);
  return true;
}

/* link: (TARGET, LINK, ...). */
static bool
parse_link (struct kiln_customize *c G_GNUC_UNUSED, struct kiln_customize_step *s,
            const char *const *args, GError **err)
{
  if (args[0][0] == '\0')
    return usage (err, NAME (s), "the target is empty");
  s->a = g_strdup (args[0]);
  s->list = g_strdupv ((char **) args + 1);
  return true;
}

static bool
parse_hostname (struct kiln_customize *c G_GNUC_UNUSED, struct kiln_customize_step *s,
                const char *const *args, GError **err)
{
  if (!kiln_hostname_valid (args[0]))
    return usage (err, NAME (s), "'%s' is not a valid host name", args[0]);
  s->a = g_strdup (args[0]);
  return true;
}

static bool
parse_timezone (struct kiln_customize *c G_GNUC_UNUSED, struct kiln_customize_step *s,
                const char *const *args, GError **err)
{
  if (!timezone_ok (args[0]))
    return usage (err, NAME (s), "'%s' is not a time zone name (e.g. Europe/Madrid)", args[0]);
  s->a = g_strdup (args[0]);
  return true;
}

/* ssh-inject: (USER), (USER, "file", F) or (USER, "string", KEY). */
static bool
parse_ssh_inject (struct kiln_customize *c G_GNUC_UNUSED, struct kiln_customize_step *s,
                  const char *const *args, GError **err)
{
  s->a = g_strdup (args[0]);
  if (!kiln_user_name_valid (s->a))
    return usage (err, NAME (s), "'%s' is not a user name", s->a);
  if (args[1] == NULL) {
    g_autofree char *file = default_ssh_key (err);

    if (file == NULL)
      return false;
    s->data = read_key_file (file, err);
  } else if (strcmp (args[1], "file") == 0) {
    s->data = read_key_file (args[2], err);
  } else {
    s->data = g_strstrip (g_strdup (args[2]));
    if (s->data[0] == '\0')
      return usage (err, NAME (s), "the key is empty");
    if (strchr (s->data, '\n') != NULL)
      return usage (err, NAME (s), "the key must be one line");
  }
  return s->data != NULL;
}

/* ------------------------------------------------------------ describe ---- */

static char *
describe_password (const struct kiln_customize_step *s)
{
  static const char *const kinds[] = { "set", "set to a random password", "disabled", "locked" };

  return g_strdup_printf ("--%s: %s's password %s%s", NAME (s), s->a, kinds[s->pw->kind],
                          s->pw->locked && s->pw->kind != KILN_PASSWORD_LOCKED ? ", and the account locked" : "");
}

static char *
describe_list (const struct kiln_customize_step *s)
{
  g_autofree char *l = g_strjoinv (",", s->list);

  return g_strdup_printf ("--%s %s", NAME (s), l);
}

/* What goes into a file may be a secret (a token, a key): logs and
 * manifests say where it went and how much, never what. */
static char *
describe_content (const struct kiln_customize_step *s)
{
  return g_strdup_printf ("--%s %s (%zu bytes)", NAME (s), s->a, strlen (s->b));
}

static char *
describe_chmod (const struct kiln_customize_step *s)
{
  return g_strdup_printf ("--%s %04o:%s", NAME (s), (unsigned) s->mode, s->b);
}

static char *
describe_link (const struct kiln_customize_step *s)
{
  g_autofree char *l = g_strjoinv (":", s->list);

  return g_strdup_printf ("--%s %s:%s", NAME (s), s->a, l);
}

/* The default: "--NAME", "--NAME A" or "--NAME A:B" (ssh-inject: the user only). */
static char *
describe_parts (const struct kiln_customize_step *s)
{
  if (s->a == NULL)
    return g_strdup_printf ("--%s", NAME (s));
  if (s->b)
    return g_strdup_printf ("--%s %s:%s", NAME (s), s->a, s->b);
  return g_strdup_printf ("--%s %s", NAME (s), s->a);
}

/* ------------------------------------------------------------ apply ---- */

struct kiln_customize_run {
  struct kiln_customize *c;
  struct kiln_guest *gu;
  guestfs_h *g;
  bool pkg_lists_fresh;
};

static int
gerr (struct kiln_customize_run *st, GError **err, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static int
gerr (struct kiln_customize_run *st, GError **err, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *ctx = NULL;

  va_start (ap, fmt);
  ctx = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  kiln_guest_set_error (st->gu, err, "%s", ctx);
  return -1;
}

/* Look USER up in the guest's /etc/passwd: uid, gid and home. */
static int
guest_user (struct kiln_customize_run *st, const char *user, int *uid, int *gid, char **home, GError **err)
{
  char *text = guestfs_cat (st->g, "/etc/passwd");
  g_auto (GStrv) lines = NULL;
  size_t ulen = strlen (user);

  if (text == NULL)
    return gerr (st, err, "cannot read the guest's /etc/passwd");
  lines = g_strsplit (text, "\n", -1);
  free (text);
  for (char **l = lines; *l; l++) {
    if (strncmp (*l, user, ulen) == 0 && (*l)[ulen] == ':') {
      g_auto (GStrv) f = g_strsplit (*l, ":", 7);

      if (g_strv_length (f) < 6)
        break;
      *uid = atoi (f[2]);
      *gid = atoi (f[3]);
      *home = g_strdup (f[5]);
      return 0;
    }
  }
  g_set_error (err, KILN_ERROR, KILN_ERROR_NOT_FOUND,
               "user '%s' does not exist in the guest (no line in /etc/passwd)", user);
  return -1;
}

static int
apply_password (struct kiln_customize_run *st, const struct kiln_customize_step *o, GError **err)
{
  enum kiln_password_crypto crypto = st->c->crypto;
  g_autofree char *hash = NULL;
  g_autofree char *newtext = NULL;
  char *random_pw = NULL;
  char *text;
  struct guestfs_statns *sb;
  size_t len;
  int r;

  if (crypto == KILN_CRYPTO_AUTO)
    crypto = kiln_password_crypto_for (st->gu->distro, st->gu->major);
  switch (o->pw->kind) {
  case KILN_PASSWORD_PLAIN:
    hash = kiln_password_hash (o->pw->secret, crypto, err);
    break;
  case KILN_PASSWORD_RANDOM:
    random_pw = kiln_password_random (16, err);
    if (random_pw)
      hash = kiln_password_hash (random_pw, crypto, err);
    break;
  case KILN_PASSWORD_DISABLED:
    hash = g_strdup ("*");
    break;
  case KILN_PASSWORD_LOCKED:
    hash = g_strdup ("");
    break;
  }
  if (hash == NULL) {
    kiln_secret_free (random_pw);
    return -1;
  }
  sb = guestfs_statns (st->g, "/etc/shadow");
  if (sb == NULL) {
    kiln_secret_free (random_pw);
    return gerr (st, err, "cannot set %s's password: no /etc/shadow in the guest", o->a);
  }
  text = kiln_guest_read_file (st->g, "/etc/shadow", &len);
  if (text == NULL) {
    guestfs_free_statns (sb);
    kiln_secret_free (random_pw);
    return gerr (st, err, "cannot read the guest's /etc/shadow");
  }
  newtext = kiln_shadow_set (text, o->a, hash, o->pw->kind == KILN_PASSWORD_LOCKED || o->pw->locked,
                             err);
  explicit_bzero (text, len);
  free (text);
  if (newtext == NULL) {
    guestfs_free_statns (sb);
    kiln_secret_free (random_pw);
    return -1;
  }
  /* Untraced (-x, LIBGUESTFS_TRACE=1): the trace would print the hashes. */
  r = kiln_guest_write_file (st->g, "/etc/shadow", newtext, strlen (newtext));
  explicit_bzero (newtext, strlen (newtext));
  if (r == -1 ||
      guestfs_chown (st->g, (int) sb->st_uid, (int) sb->st_gid, "/etc/shadow") == -1 ||
      guestfs_chmod (st->g, (int) (sb->st_mode & 07777), "/etc/shadow") == -1) {
    guestfs_free_statns (sb);
    kiln_secret_free (random_pw);
    return gerr (st, err, "cannot write the guest's /etc/shadow");
  }
  guestfs_free_statns (sb);
  if (random_pw) {
    /* The user has no other way to learn it: the verb shows or stores it. */
    struct kiln_customize_password *p = g_new0 (struct kiln_customize_password, 1);

    p->user = g_strdup (o->a);
    p->password = random_pw;
    g_ptr_array_add (st->c->generated, p);
  }
  return 0;
}

static int
run_in_guest (struct kiln_customize_run *st, char *const *argv, const char *what, GError **err)
{
  g_autofree char *out = NULL;
  int status;

  if (kiln_guest_command (st->g, argv, &out, &status, err) == -1)
    return -1;
  if (out[0] != '\0')
    kiln_event_debug ("customize", "%s:\n%s", what, out);
  if (status != 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s failed (exit status %d); its last output:\n%s",
                 what, status, kiln_text_tail (out, 20));
    return -1;
  }
  return 0;
}

/* The packages of LIST that the guest's package database says are
 * installed (NULL-terminated); the others are named in an event.  What
 * --uninstall asks for (the package absent) already holds for them, and
 * apt-get would fail on a package it cannot find in empty package lists. */
static char **
installed_only (struct kiln_customize_run *st, char *const *list, GError **err)
{
  const char *pm = st->gu->package_management;
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();

  for (; list && *list; list++) {
    g_auto (GStrv) q = kiln_packages_query_command (pm, *list);
    g_autofree char *out = NULL;
    int status;

    if (q == NULL)
      return g_strdupv ((char **) list);   /* unknown manager: commands say so */
    if (kiln_guest_command (st->g, q, &out, &status, err) == -1)
      return NULL;
    if (kiln_packages_is_installed (pm, status, out))
      g_strv_builder_add (b, *list);
    else
      kiln_event_info ("customize", "--uninstall: %s is not installed; nothing to remove", *list);
  }
  return g_strv_builder_end (b);
}

static int
run_packages (struct kiln_customize_run *st, enum kiln_pkg_op kind, const struct kiln_customize_step *o,
              GError **err)
{
  g_auto (GStrv) present = NULL;
  g_autoptr (GPtrArray) cmds = NULL;
  char *const *pkgs = o->list;

  if (kiln_packages_check_patterns (st->gu->package_management, o->list, err) == -1)
    return -1;
  if (kind == KILN_PKG_UNINSTALL) {
    present = installed_only (st, o->list, err);
    if (present == NULL)
      return -1;
    if (present[0] == NULL)
      return 0;
    pkgs = present;
  }
  cmds = kiln_packages_commands (st->gu->package_management, kind, pkgs, !st->pkg_lists_fresh, err);
  if (cmds == NULL)
    return -1;
  for (guint i = 0; i < cmds->len; i++) {
    char **argv = cmds->pdata[i];
    g_autofree char *what = g_strjoinv (" ", argv);

    kiln_event_debug ("customize", "running %s", what);
    if (run_in_guest (st, argv, what, err) == -1)
      return -1;
  }
  if (kind != KILN_PKG_UNINSTALL)
    st->pkg_lists_fresh = true;
  return 0;
}

static int
apply_run (struct kiln_customize_run *st, const struct kiln_customize_step *o, GError **err)
{
  g_autofree char *name = NULL;
  char *dir = guestfs_mkdtemp (st->g, "/tmp/kiln-run-XXXXXX");
  int r;

  if (dir == NULL)
    return gerr (st, err, "--run %s: cannot make a directory in the guest's /tmp", o->a);
  name = g_build_filename (dir, "script", NULL);
  if (guestfs_write (st->g, name, o->data, strlen (o->data)) == -1 ||
      guestfs_chmod (st->g, 0700, name) == -1) {
    free (dir);
    return gerr (st, err, "--run %s: cannot copy the script into the guest", o->a);
  }
  {
    char *argv[] = { name, NULL };
    g_autofree char *what = g_strdup_printf ("--run %s", o->a);

    r = run_in_guest (st, argv, what, err);
  }
  guestfs_rm_rf (st->g, dir);
  free (dir);
  return r;
}

static int
apply_append_line (struct kiln_customize_run *st, const struct kiln_customize_step *o, GError **err)
{
  g_autoptr (GString) add = g_string_new (NULL);
  int exists = guestfs_exists (st->g, o->a);

  if (exists == -1)
    return gerr (st, err, "--append-line %s", o->a);
  if (exists) {
    size_t len;
    char *cur = kiln_guest_read_file (st->g, o->a, &len);

    if (cur == NULL)
      return gerr (st, err, "--append-line: cannot read %s", o->a);
    if (len > 0 && cur[len - 1] != '\n')
      g_string_append_c (add, '\n');
    free (cur);
  }
  g_string_append (add, o->b);
  g_string_append_c (add, '\n');
  if (kiln_guest_append_file (st->g, o->a, add->str, add->len) == -1)
    return gerr (st, err, "--append-line: cannot write %s", o->a);
  return 0;
}

static bool
is_debian_family (const char *d)
{
  return g_strcmp0 (d, "debian") == 0 || g_strcmp0 (d, "ubuntu") == 0 ||
         g_strcmp0 (d, "linuxmint") == 0 || g_strcmp0 (d, "kalilinux") == 0;
}

static bool
is_suse_family (const char *d)
{
  return g_strcmp0 (d, "opensuse") == 0 || g_strcmp0 (d, "sles") == 0 ||
         g_strcmp0 (d, "suse-based") == 0;
}

/* Replace the lines of TEXT for which MATCH is true by NEWLINE (once), or
 * append NEWLINE when none matched. */
static char *
replace_line (const char *text, bool (*match) (const char *), const char *newline)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GString) out = g_string_new (NULL);
  bool done = false;

  for (char **l = lines; *l; l++) {
    if (match (*l)) {
      if (!done)
        g_string_append_printf (out, "%s\n", newline);
      done = true;
    } else if ((*l)[0] != '\0' || l[1] != NULL) {
      g_string_append_printf (out, "%s\n", *l);
    }
  }
  if (!done)
    g_string_append_printf (out, "%s\n", newline);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static bool
is_127_0_1_1 (const char *l)
{
  return g_str_has_prefix (l, "127.0.1.1") && (l[9] == ' ' || l[9] == '\t');
}

static bool
is_hostname_assign (const char *l)
{
  return g_str_has_prefix (l, "HOSTNAME=");
}

static int
edit_file (struct kiln_customize_run *st, const char *path, bool (*match) (const char *),
           const char *newline, GError **err)
{
  size_t len;
  char *cur = guestfs_read_file (st->g, path, &len);
  g_autofree char *text = NULL;

  if (cur == NULL)
    return gerr (st, err, "cannot read %s", path);
  text = replace_line (cur, match, newline);
  free (cur);
  if (guestfs_write (st->g, path, text, strlen (text)) == -1)
    return gerr (st, err, "cannot write %s", path);
  return 0;
}

static int
apply_hostname (struct kiln_customize_run *st, const struct kiln_customize_step *o, GError **err)
{
  const char *distro = st->gu->distro;
  g_autofree char *shortname = g_strndup (o->a, strcspn (o->a, "."));
  g_autofree char *line = NULL;

  {
    g_autofree char *content = g_strdup_printf ("%s\n", is_suse_family (distro) ? o->a : shortname);

    if (guestfs_write (st->g, "/etc/hostname", content, strlen (content)) == -1)
      return gerr (st, err, "--hostname: cannot write /etc/hostname");
  }
  /* Debian's convention: the host name resolves through a 127.0.1.1 line. */
  if (guestfs_is_file (st->g, "/etc/hosts") > 0) {
    g_autofree char *hosts = guestfs_cat (st->g, "/etc/hosts");
    bool has = hosts && strstr (hosts, "\n127.0.1.1") != NULL;

    if (hosts == NULL)
      return gerr (st, err, "--hostname: cannot read /etc/hosts");
    if (has || is_debian_family (distro) || g_str_has_prefix (hosts, "127.0.1.1")) {
      if (strcmp (shortname, o->a) != 0)
        line = g_strdup_printf ("127.0.1.1\t%s %s", o->a, shortname);
      else
        line = g_strdup_printf ("127.0.1.1\t%s", o->a);
      if (edit_file (st, "/etc/hosts", is_127_0_1_1, line, err) == -1)
        return -1;
    }
  }
  /* SUSE keeps it in /etc/HOSTNAME, older Red Hat in /etc/sysconfig/network. */
  if (is_suse_family (distro) || guestfs_is_file (st->g, "/etc/HOSTNAME") > 0) {
    g_autofree char *content = g_strdup_printf ("%s\n", o->a);

    if (guestfs_write (st->g, "/etc/HOSTNAME", content, strlen (content)) == -1)
      return gerr (st, err, "--hostname: cannot write /etc/HOSTNAME");
  }
  if (guestfs_is_file (st->g, "/etc/sysconfig/network") > 0) {
    g_autofree char *assign = g_strdup_printf ("HOSTNAME=%s", o->a);

    if (edit_file (st, "/etc/sysconfig/network", is_hostname_assign, assign, err) == -1)
      return -1;
  }
  return 0;
}

static int
apply_timezone (struct kiln_customize_run *st, const struct kiln_customize_step *o, GError **err)
{
  g_autofree char *zone = g_strdup_printf ("/usr/share/zoneinfo/%s", o->a);

  if (guestfs_is_file_opts (st->g, zone, GUESTFS_IS_FILE_OPTS_FOLLOWSYMLINKS, 1, -1) <= 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                 "--timezone %s: the guest has no %s (is tzdata installed?)", o->a, zone);
    return -1;
  }
  if (guestfs_ln_sf (st->g, zone, "/etc/localtime") == -1)
    return gerr (st, err, "--timezone: cannot link /etc/localtime");
  if (is_debian_family (st->gu->distro) || guestfs_is_file (st->g, "/etc/timezone") > 0) {
    g_autofree char *content = g_strdup_printf ("%s\n", o->a);

    if (guestfs_write (st->g, "/etc/timezone", content, strlen (content)) == -1)
      return gerr (st, err, "--timezone: cannot write /etc/timezone");
  }
  return 0;
}

static int
apply_ssh_inject (struct kiln_customize_run *st, const struct kiln_customize_step *o, GError **err)
{
  g_autofree char *home = NULL, *dir = NULL, *keys = NULL;
  g_autoptr (GString) add = g_string_new (NULL);
  int uid = 0, gid = 0, exists;

  if (guest_user (st, o->a, &uid, &gid, &home, err) == -1)
    return -1;
  dir = g_build_filename (home, ".ssh", NULL);
  keys = g_build_filename (dir, "authorized_keys", NULL);
  if (guestfs_is_dir (st->g, dir) <= 0 && guestfs_mkdir_p (st->g, dir) == -1)
    return gerr (st, err, "--ssh-inject: cannot make %s", dir);
  if (guestfs_chmod (st->g, 0700, dir) == -1 || guestfs_lchown (st->g, uid, gid, dir) == -1)
    return gerr (st, err, "--ssh-inject: cannot set the owner and mode of %s", dir);
  exists = guestfs_is_file (st->g, keys);
  if (exists > 0) {
    size_t len;
    char *cur = guestfs_read_file (st->g, keys, &len);
    g_auto (GStrv) lines = NULL;

    if (cur == NULL)
      return gerr (st, err, "--ssh-inject: cannot read %s", keys);
    lines = g_strsplit (cur, "\n", -1);
    if (len > 0 && cur[len - 1] != '\n')
      g_string_append_c (add, '\n');
    free (cur);
    for (char **l = lines; *l; l++)
      if (strcmp (g_strstrip (*l), o->data) == 0)
        goto perms;             /* already there */
  }
  g_string_append_printf (add, "%s\n", o->data);
  if (guestfs_write_append (st->g, keys, add->str, add->len) == -1)
    return gerr (st, err, "--ssh-inject: cannot write %s", keys);
perms:
  if (guestfs_chmod (st->g, 0600, keys) == -1 || guestfs_lchown (st->g, uid, gid, keys) == -1)
    return gerr (st, err, "--ssh-inject: cannot set the owner and mode of %s", keys);
  kiln_guest_keep (st->gu, keys);
  return 0;
}

#define FIRSTBOOT_DIR "/usr/lib/kiln-firstboot"
#define FIRSTBOOT_UNIT "/etc/systemd/system/kiln-firstboot.service"

static const char firstboot_unit[] =
  "[Unit]\n"
  "Description=kiln first boot commands\n"
  "After=network-online.target\n"
  "Wants=network-online.target\n"
  "ConditionPathExistsGlob=" FIRSTBOOT_DIR "/scripts/*\n"
  "\n"
  "[Service]\n"
  "Type=oneshot\n"
  "ExecStart=" FIRSTBOOT_DIR "/firstboot.sh\n"
  "RemainAfterExit=yes\n"
  "StandardOutput=journal+console\n"
  "TimeoutSec=0\n"
  "\n"
  "[Install]\n"
  "WantedBy=multi-user.target\n";

/* Runs each script once, in name order, logs it, removes it, then
 * disables the unit so that later boots do not even start it. */
static const char firstboot_sh[] =
  "#!/bin/sh\n"
  "# kiln: run the first boot commands once, then disable this service.\n"
  "d=" FIRSTBOOT_DIR "\n"
  "mkdir -p \"$d/done\"\n"
  "for f in \"$d\"/scripts/*; do\n"
  "  [ -f \"$f\" ] || continue\n"
  "  echo \"kiln-firstboot: running $f\"\n"
  "  sh \"$f\" >>\"$d/firstboot.log\" 2>&1\n"
  "  echo \"kiln-firstboot: $f exited $?\" >>\"$d/firstboot.log\"\n"
  "  mv \"$f\" \"$d/done/\"\n"
  "done\n"
  "systemctl disable kiln-firstboot.service\n";

static int
apply_firstboot (struct kiln_customize_run *st, const struct kiln_customize_step *o, GError **err)
{
  g_autofree char *script = NULL, *path = NULL;
  char **existing;
  int n = 0;

  if (guestfs_mkdir_p (st->g, FIRSTBOOT_DIR "/scripts") == -1 ||
      guestfs_write (st->g, FIRSTBOOT_DIR "/firstboot.sh", firstboot_sh, strlen (firstboot_sh)) == -1 ||
      guestfs_chmod (st->g, 0755, FIRSTBOOT_DIR "/firstboot.sh") == -1 ||
      guestfs_write (st->g, FIRSTBOOT_UNIT, firstboot_unit, strlen (firstboot_unit)) == -1 ||
      guestfs_mkdir_p (st->g, "/etc/systemd/system/multi-user.target.wants") == -1 ||
      guestfs_ln_sf (st->g, FIRSTBOOT_UNIT,
                     "/etc/systemd/system/multi-user.target.wants/kiln-firstboot.service") == -1)
    return gerr (st, err, "--firstboot-command: cannot install the first boot service");
  existing = guestfs_ls (st->g, FIRSTBOOT_DIR "/scripts");
  if (existing == NULL)
    return gerr (st, err, "--firstboot-command: cannot list " FIRSTBOOT_DIR "/scripts");
  for (char **e = existing; *e; e++, n++)
    free (*e);
  free (existing);
  script = g_strdup_printf ("#!/bin/sh\n%s\n", o->a);
  path = g_strdup_printf (FIRSTBOOT_DIR "/scripts/%04d", n + 1);
  if (guestfs_write (st->g, path, script, strlen (script)) == -1 ||
      guestfs_chmod (st->g, 0700, path) == -1)
    return gerr (st, err, "--firstboot-command: cannot write %s", path);
  return 0;
}

static int
apply_upload (struct kiln_customize_run *st, const struct kiln_customize_step *o, GError **err)
{
  g_autofree char *dest = NULL;

  if (guestfs_is_dir (st->g, o->b) > 0) {
    g_autofree char *base = g_path_get_basename (o->a);

    dest = g_build_filename (o->b, base, NULL);
  } else {
    dest = g_strdup (o->b);
  }
  if (guestfs_upload (st->g, o->a, dest) == -1)
    return gerr (st, err, "--upload %s: cannot write %s", o->a, dest);
  kiln_guest_keep (st->gu, dest);
  return 0;
}


static int
apply_install (struct kiln_customize_run *st, const struct kiln_customize_step *o, GError **err)
{
  return run_packages (st, KILN_PKG_INSTALL, o, err);
}

static int
apply_uninstall (struct kiln_customize_run *st, const struct kiln_customize_step *o, GError **err)
{
  return run_packages (st, KILN_PKG_UNINSTALL, o, err);
}

static int
apply_update (struct kiln_customize_run *st, const struct kiln_customize_step *o, GError **err)
{
  return run_packages (st, KILN_PKG_UPDATE, o, err);
}

static int
apply_run_command (struct kiln_customize_run *st, const struct kiln_customize_step *o, GError **err)
{
  char *argv[] = { (char *) "/bin/sh", (char *) "-c", o->a, NULL };
  g_autofree char *what = g_strdup_printf ("--run-command '%s'", o->a);

  return run_in_guest (st, argv, what, err);
}

static int
apply_write (struct kiln_customize_run *st, const struct kiln_customize_step *o, GError **err)
{
  if (kiln_guest_write_file (st->g, o->a, o->b, strlen (o->b)) == -1)
    return gerr (st, err, "--write: cannot write %s", o->a);
  kiln_guest_keep (st->gu, o->a);
  return 0;
}

static int
apply_copy_in (struct kiln_customize_run *st, const struct kiln_customize_step *o, GError **err)
{
  if (guestfs_copy_in (st->g, o->a, o->b) == -1)
    return gerr (st, err, "--copy-in %s:%s", o->a, o->b);
  return 0;
}

static int
apply_mkdir (struct kiln_customize_run *st, const struct kiln_customize_step *o, GError **err)
{
  if (guestfs_mkdir_p (st->g, o->a) == -1)
    return gerr (st, err, "--mkdir %s", o->a);
  return 0;
}

static int
apply_delete (struct kiln_customize_run *st, const struct kiln_customize_step *o, GError **err)
{
  if (guestfs_rm_rf (st->g, o->a) == -1)
    return gerr (st, err, "--delete %s", o->a);
  return 0;
}

static int
apply_chmod (struct kiln_customize_run *st, const struct kiln_customize_step *o, GError **err)
{
  if (guestfs_chmod (st->g, o->mode, o->b) == -1)
    return gerr (st, err, "--chmod %s", o->b);
  return 0;
}

static int
apply_link (struct kiln_customize_run *st, const struct kiln_customize_step *o, GError **err)
{
  for (char **l = o->list; *l; l++)
    if (guestfs_ln_sf (st->g, o->a, *l) == -1)
      return gerr (st, err, "--link %s:%s", o->a, *l);
  return 0;
}

static int
apply_touch (struct kiln_customize_run *st, const struct kiln_customize_step *o, GError **err)
{
  if (guestfs_touch (st->g, o->a) == -1)
    return gerr (st, err, "--touch %s", o->a);
  return 0;
}

/* ------------------------------------------------------------ the table ---- */

#define STRING KILN_CUSTOMIZE_STRING
#define LIST KILN_CUSTOMIZE_LIST
#define PAIR KILN_CUSTOMIZE_PAIR

/* Adding an operation: a row here, its parse and apply functions above
 * (describe when "--NAME PARTS" would not do or would show a secret), its
 * entry in docs/kiln-customize.1.scd and docs/kiln-recipe.5.scd, and a
 * sample in tests/unit/test-customize.c. */
const struct kiln_customize_op kiln_customize_ops[] = {
  { "root-password", STRING, "SELECTOR", "set root's password (password:P, file:F, random, disabled, locked)",
    .flags = KILN_CUSTOMIZE_SELECTOR,
    .parse = parse_password, .apply = apply_password, .describe = describe_password },
  { "password", PAIR, "USER:SELECTOR", "set USER's password (selectors as for --root-password)",
    .keys = { "user", "password" }, .flags = KILN_CUSTOMIZE_SELECTOR,
    .parse = parse_password, .apply = apply_password, .describe = describe_password },
  { "password-crypto", STRING, "yescrypt|sha512", "password hash method (default: yescrypt where the guest supports it)",
    .flags = KILN_CUSTOMIZE_SETTING, .parse = parse_crypto },
  { "selinux-relabel", KILN_CUSTOMIZE_NONE, NULL, "relabel an SELinux guest's files after changing them (the default)",
    .flags = KILN_CUSTOMIZE_SETTING, .parse = parse_selinux_relabel },
  { "no-selinux-relabel", KILN_CUSTOMIZE_NONE, NULL, "do not relabel an SELinux guest's files",
    .flags = KILN_CUSTOMIZE_SETTING, .parse = parse_selinux_relabel },
  { "install", LIST, "PKG,...", "install packages with the guest's package manager",
    .flags = KILN_CUSTOMIZE_NETWORK,
    .parse = parse_packages, .apply = apply_install, .describe = describe_list },
  { "uninstall", LIST, "PKG,...", "remove packages",
    .flags = KILN_CUSTOMIZE_NETWORK,
    .parse = parse_packages, .apply = apply_uninstall, .describe = describe_list },
  { "update", KILN_CUSTOMIZE_NONE, NULL, "update every installed package",
    .flags = KILN_CUSTOMIZE_NETWORK, .parse = parse_none, .apply = apply_update },
  { "run", STRING, "SCRIPT", "run a local script inside the guest",
    .flags = KILN_CUSTOMIZE_LOCAL, .parse = parse_run, .apply = apply_run },
  { "run-command", STRING, "CMD", "run a shell command inside the guest",
    .parse = parse_command, .apply = apply_run_command },
  { "write", PAIR, "FILE:CONTENT", "write CONTENT to FILE",
    .keys = { "path", "content" }, .flags = KILN_CUSTOMIZE_NOT_ROOT, .guest = KILN_CUSTOMIZE_PART (0),
    .parse = parse_write, .apply = apply_write, .describe = describe_content },
  { "upload", PAIR, "LOCAL:REMOTE", "copy a local file into the guest",
    .keys = { "from", "to" }, .flags = KILN_CUSTOMIZE_LOCAL, .guest = KILN_CUSTOMIZE_PART (1),
    .parse = parse_upload, .apply = apply_upload },
  { "copy-in", PAIR, "LOCAL:DIR", "copy a local file or directory tree into guest directory DIR",
    .keys = { "from", "to" }, .flags = KILN_CUSTOMIZE_LOCAL, .guest = KILN_CUSTOMIZE_PART (1),
    .parse = parse_copy_in, .apply = apply_copy_in },
  { "mkdir", STRING, "DIR", "make a directory (and its parents)",
    .guest = KILN_CUSTOMIZE_PART (0), .parse = parse_guest_path, .apply = apply_mkdir },
  { "delete", STRING, "PATH", "delete a file or a directory tree",
    .flags = KILN_CUSTOMIZE_NOT_ROOT, .guest = KILN_CUSTOMIZE_PART (0), .parse = parse_guest_path, .apply = apply_delete },
  { "chmod", PAIR, "MODE:FILE", "change FILE's mode (octal)",
    .keys = { "mode", "path" }, .guest = KILN_CUSTOMIZE_PART (1),
    .parse = parse_chmod, .apply = apply_chmod, .describe = describe_chmod },
  { "link", KILN_CUSTOMIZE_HEAD_LIST, "TARGET:LINK[:LINK...]", "make symbolic links to TARGET",
    .keys = { "target", "link" }, .flags = KILN_CUSTOMIZE_NOT_ROOT, .guest = KILN_CUSTOMIZE_PART (1),
    .parse = parse_link, .apply = apply_link, .describe = describe_link },
  { "append-line", PAIR, "FILE:LINE", "append LINE to FILE (made if absent)",
    .keys = { "path", "line" }, .flags = KILN_CUSTOMIZE_NOT_ROOT, .guest = KILN_CUSTOMIZE_PART (0),
    .parse = parse_append_line, .apply = apply_append_line, .describe = describe_content },
  { "touch", STRING, "FILE", "make FILE or update its times",
    .flags = KILN_CUSTOMIZE_NOT_ROOT, .guest = KILN_CUSTOMIZE_PART (0), .parse = parse_guest_path, .apply = apply_touch },
  { "hostname", STRING, "NAME", "set the host name everywhere the distribution keeps it",
    .parse = parse_hostname, .apply = apply_hostname },
  { "timezone", STRING, "TZ", "set the time zone (e.g. Europe/Madrid)",
    .parse = parse_timezone, .apply = apply_timezone },
  { "ssh-inject", KILN_CUSTOMIZE_USER_KEY, "USER[:file:F|:string:KEY]", "add an SSH public key to USER's authorized_keys",
    .keys = { "user", "file", "key" },
    .parse = parse_ssh_inject, .apply = apply_ssh_inject },
  { "firstboot-command", STRING, "CMD", "run CMD once at the guest's first boot",
    .parse = parse_command, .apply = apply_firstboot },
  { NULL }
};

#undef STRING
#undef LIST
#undef PAIR

/* The option rows, one per table row (and the terminating one), filled
 * before main runs so that verb tables can point at them. */
struct kiln_option kiln_customize_options[G_N_ELEMENTS (kiln_customize_ops)];

__attribute__ ((constructor)) static void
make_options (void)
{
  for (size_t i = 0; kiln_customize_ops[i].name; i++) {
    const struct kiln_customize_op *op = &kiln_customize_ops[i];

    kiln_customize_options[i] = (struct kiln_option) {
      op->name, 0, op->shape == KILN_CUSTOMIZE_NONE ? KILN_ARG_NONE : KILN_ARG_REQUIRED,
      op->metavar, op->help, KILN_OPT_CUSTOMIZE_BASE + (int) i,
    };
  }
}

const struct kiln_customize_op *
kiln_customize_op_find (const char *name)
{
  if (g_str_has_prefix (name, "--"))
    name += 2;
  for (const struct kiln_customize_op *op = kiln_customize_ops; op->name; op++)
    if (strcmp (op->name, name) == 0)
      return op;
  return NULL;
}

/* ------------------------------------------------------------ adding ---- */

char **
kiln_customize_split (const struct kiln_customize_op *op, const char *arg, GError **err)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_autofree char *head = NULL;         /* what is before the first ':' */
  const char *colon;

  if (op->shape == KILN_CUSTOMIZE_NONE) {
    if (arg != NULL) {
      usage (err, op->name, "takes no argument");
      return NULL;
    }
    return g_strv_builder_end (b);
  }
  if (arg == NULL) {
    usage (err, op->name, "needs an argument (%s)", op->metavar);
    return NULL;
  }
  colon = strchr (arg, ':');
  if (colon)
    head = g_strndup (arg, (gsize) (colon - arg));
  switch (op->shape) {
  case KILN_CUSTOMIZE_NONE:
  case KILN_CUSTOMIZE_STRING:
    g_strv_builder_add (b, arg);
    break;
  case KILN_CUSTOMIZE_LIST: {
    g_auto (GStrv) parts = g_strsplit (arg, ",", -1);

    for (char **p = parts; *p; p++)
      if (g_strstrip (*p)[0] != '\0')
        g_strv_builder_add (b, *p);
    break;
  }
  case KILN_CUSTOMIZE_PAIR:
    if (colon == NULL || colon == arg) {
      /* A password selector may follow: say the form, not what was written. */
      if (op->flags & KILN_CUSTOMIZE_SELECTOR)
        usage (err, op->name, "the argument is not of the form %s", op->metavar);
      else
        usage (err, op->name, "'%s' is not of the form %s", arg, op->metavar);
      return NULL;
    }
    g_strv_builder_add (b, head);
    g_strv_builder_add (b, colon + 1);
    break;
  case KILN_CUSTOMIZE_HEAD_LIST: {
    g_auto (GStrv) parts = g_strsplit (arg, ":", -1);

    if (colon == NULL || colon == arg) {
      usage (err, op->name, "'%s' is not of the form %s", arg, op->metavar);
      return NULL;
    }
    g_strv_builder_addv (b, (const char **) parts);
    break;
  }
  case KILN_CUSTOMIZE_USER_KEY:
    if (colon == NULL) {
      g_strv_builder_add (b, arg);
      break;
    }
    g_strv_builder_add (b, head);
    if (g_str_has_prefix (colon + 1, "file:")) {
      g_strv_builder_add (b, "file");
      g_strv_builder_add (b, colon + 6);
    } else if (g_str_has_prefix (colon + 1, "string:")) {
      g_strv_builder_add (b, "string");
      g_strv_builder_add (b, colon + 8);
    } else {
      usage (err, op->name, "'%s' is not USER, USER:file:FILE or USER:string:KEY", arg);
      return NULL;
    }
    break;
  }
  return g_strv_builder_end (b);
}

char *
kiln_customize_args_text (const struct kiln_customize_op *op, const char *const *args)
{
  g_autoptr (GString) s = g_string_new (NULL);
  guint n = args ? g_strv_length ((char **) args) : 0;

  for (guint i = 0; i < n; i++) {
    g_autofree char *shown = NULL;

    if (i > 0)
      g_string_append_c (s, op->shape == KILN_CUSTOMIZE_LIST ? ',' : ':');
    if ((op->flags & KILN_CUSTOMIZE_SELECTOR) && i == n - 1)
      shown = kiln_password_selector_shown (args[i]);
    g_string_append (s, shown ? shown : args[i]);
  }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* Has ARGS the number of parts OP's shape gives? */
static bool
shape_ok (const struct kiln_customize_op *op, const char *const *args, GError **err)
{
  guint n = args ? g_strv_length ((char **) args) : 0;
  bool good = false;

  switch (op->shape) {
  case KILN_CUSTOMIZE_NONE: good = n == 0; break;
  case KILN_CUSTOMIZE_STRING: good = n == 1; break;
  case KILN_CUSTOMIZE_LIST: good = n >= 1; break;
  case KILN_CUSTOMIZE_PAIR: good = n == 2; break;
  case KILN_CUSTOMIZE_HEAD_LIST: good = n >= 2; break;
  case KILN_CUSTOMIZE_USER_KEY:
    good = n == 1 || (n == 3 && (strcmp (args[1], "file") == 0 || strcmp (args[1], "string") == 0));
    break;
  }
  if (good)
    return true;
  if (op->shape == KILN_CUSTOMIZE_NONE)
    return usage (err, op->name, "takes no argument");
  if (op->shape == KILN_CUSTOMIZE_LIST)
    return usage (err, op->name, "the list is empty");
  return usage (err, op->name, "expected %s", op->metavar);
}

int
kiln_customize_add_args (struct kiln_customize *c, const struct kiln_customize_op *op,
                         const char *const *args, GError **err)
{
  static const char *const none[] = { NULL };
  struct kiln_customize_step *s;
  char **norm = NULL;
  bool ok;

  if (!shape_ok (op, args, err))
    return -1;
  /* Every check and the operation itself see the one spelling of each
   * guest path ("//" is "/"). */
  if (op->guest && args) {
    norm = g_strdupv ((char **) args);
    if (kiln_customize_normalize_paths (op, norm, err) == -1) {
      kiln_secret_strv_free (norm);
      return -1;
    }
  }
  s = g_new0 (struct kiln_customize_step, 1);
  s->op = op;
  ok = op->parse (c, s, norm ? (const char *const *) norm : args ? args : none, err);
  kiln_secret_strv_free (norm);
  if (!ok) {
    step_free (s);
    return -1;
  }
  if (op->flags & KILN_CUSTOMIZE_SETTING)
    step_free (s);
  else
    g_ptr_array_add (c->steps, s);
  return 0;
}

int
kiln_customize_add (struct kiln_customize *c, int id, const char *arg, GError **err)
{
  int i = id - KILN_OPT_CUSTOMIZE_BASE;
  g_auto (GStrv) args = NULL;

  if (i < 0 || i >= (int) G_N_ELEMENTS (kiln_customize_ops) - 1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "unknown customize operation (id %d)", id);
    return -1;
  }
  args = kiln_customize_split (&kiln_customize_ops[i], arg, err);
  if (args == NULL)
    return -1;
  return kiln_customize_add_args (c, &kiln_customize_ops[i], (const char *const *) args, err);
}

int
kiln_customize_add_by_name (struct kiln_customize *c, const char *name,
                            const char *arg, GError **err)
{
  const struct kiln_customize_op *op = kiln_customize_op_find (name);

  if (op == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "unknown customize operation '%s'", name);
    return -1;
  }
  return kiln_customize_add (c, KILN_OPT_CUSTOMIZE_BASE + (int) (op - kiln_customize_ops), arg, err);
}

bool
kiln_customize_is_empty (const struct kiln_customize *c)
{
  return c == NULL || c->steps->len == 0;
}

bool
kiln_customize_needs_network (const struct kiln_customize *c)
{
  for (guint i = 0; c && i < c->steps->len; i++) {
    const struct kiln_customize_step *s = c->steps->pdata[i];

    if (s->op->flags & KILN_CUSTOMIZE_NETWORK)
      return true;
  }
  return false;
}

char *
kiln_customize_describe (const struct kiln_customize *c, guint i)
{
  const struct kiln_customize_step *s;

  if (c == NULL || i >= c->steps->len)
    return NULL;
  s = c->steps->pdata[i];
  return s->op->describe ? s->op->describe (s) : describe_parts (s);
}

int
kiln_customize_apply (struct kiln_customize *c, struct kiln_guest *gu,
                      bool dry_run, GError **err)
{
  struct kiln_customize_run st = { .c = c, .gu = gu, .g = gu->g };

  if (c == NULL)
    return 0;
  if (c->steps->len > 0 && g_strcmp0 (gu->type, "linux") != 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "customize operations work on Linux guests; this one is %s",
                 gu->type ? gu->type : "unknown");
    return -1;
  }
  for (guint i = 0; i < c->steps->len; i++) {
    const struct kiln_customize_step *s = c->steps->pdata[i];
    g_autofree char *what = kiln_customize_describe (c, i);

    if (dry_run) {
      kiln_event_result ("customize", "would run: %s", what);
      continue;
    }
    kiln_event_info ("customize", "%s", what);
    if (s->op->apply (&st, s, err) == -1)
      return -1;
    gu->changed = true;
  }
  if (c->no_selinux_relabel)
    gu->selinux_relabel = false;
  return 0;
}
