/* customize.c: the customize operations, with virt-customize's names and
 * argument forms.  Arguments are checked when added (a malformed one is a
 * usage error before any appliance starts; local files are read then),
 * and the operations are applied in the order given on one guest. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "customize.h"
#include "msg.h"
#include "packages.h"
#include "password.h"

enum {
  CO_ROOT_PASSWORD = KILN_OPT_CUSTOMIZE_BASE,
  CO_PASSWORD,
  CO_PASSWORD_CRYPTO,
  CO_INSTALL,
  CO_UNINSTALL,
  CO_UPDATE,
  CO_RUN,
  CO_RUN_COMMAND,
  CO_WRITE,
  CO_UPLOAD,
  CO_COPY_IN,
  CO_MKDIR,
  CO_DELETE,
  CO_CHMOD,
  CO_LINK,
  CO_APPEND_LINE,
  CO_TOUCH,
  CO_HOSTNAME,
  CO_TIMEZONE,
  CO_SSH_INJECT,
  CO_FIRSTBOOT_COMMAND,
};

const struct kiln_option kiln_customize_options[] = {
  { "root-password", 0, KILN_ARG_REQUIRED, "SELECTOR", "set root's password (password:P, file:F, random, disabled, locked)", CO_ROOT_PASSWORD },
  { "password", 0, KILN_ARG_REQUIRED, "USER:SELECTOR", "set USER's password (selectors as for --root-password)", CO_PASSWORD },
  { "password-crypto", 0, KILN_ARG_REQUIRED, "yescrypt|sha512", "password hash method (default: yescrypt where the guest supports it)", CO_PASSWORD_CRYPTO },
  { "install", 0, KILN_ARG_REQUIRED, "PKG,...", "install packages with the guest's package manager", CO_INSTALL },
  { "uninstall", 0, KILN_ARG_REQUIRED, "PKG,...", "remove packages", CO_UNINSTALL },
  { "update", 0, KILN_ARG_NONE, NULL, "update every installed package", CO_UPDATE },
  { "run", 0, KILN_ARG_REQUIRED, "SCRIPT", "run a local script inside the guest", CO_RUN },
  { "run-command", 0, KILN_ARG_REQUIRED, "CMD", "run a shell command inside the guest", CO_RUN_COMMAND },
  { "write", 0, KILN_ARG_REQUIRED, "FILE:CONTENT", "write CONTENT to FILE", CO_WRITE },
  { "upload", 0, KILN_ARG_REQUIRED, "LOCAL:REMOTE", "copy a local file into the guest", CO_UPLOAD },
  { "copy-in", 0, KILN_ARG_REQUIRED, "LOCAL:DIR", "copy a local file or directory tree into guest directory DIR", CO_COPY_IN },
  { "mkdir", 0, KILN_ARG_REQUIRED, "DIR", "make a directory (and its parents)", CO_MKDIR },
  { "delete", 0, KILN_ARG_REQUIRED, "PATH", "delete a file or a directory tree", CO_DELETE },
  { "chmod", 0, KILN_ARG_REQUIRED, "MODE:FILE", "change FILE's mode (octal)", CO_CHMOD },
  { "link", 0, KILN_ARG_REQUIRED, "TARGET:LINK[:LINK...]", "make symbolic links to TARGET", CO_LINK },
  { "append-line", 0, KILN_ARG_REQUIRED, "FILE:LINE", "append LINE to FILE (made if absent)", CO_APPEND_LINE },
  { "touch", 0, KILN_ARG_REQUIRED, "FILE", "make FILE or update its times", CO_TOUCH },
  { "hostname", 0, KILN_ARG_REQUIRED, "NAME", "set the host name everywhere the distribution keeps it", CO_HOSTNAME },
  { "timezone", 0, KILN_ARG_REQUIRED, "TZ", "set the time zone (e.g. Europe/Madrid)", CO_TIMEZONE },
  { "ssh-inject", 0, KILN_ARG_REQUIRED, "USER[:file:F|:string:KEY]", "add an SSH public key to USER's authorized_keys", CO_SSH_INJECT },
  { "firstboot-command", 0, KILN_ARG_REQUIRED, "CMD", "run CMD once at the guest's first boot", CO_FIRSTBOOT_COMMAND },
  KILN_OPTION_END
};

struct op {
  int id;
  char *a, *b;                  /* the argument's parts (see add) */
  char **list;                  /* packages, link names */
  struct kiln_password *pw;
  char *data;                   /* --run script, --ssh-inject key */
  int mode;
};

struct kiln_customize {
  GPtrArray *ops;               /* struct op *, in the order given */
  enum kiln_password_crypto crypto;
};

static void
op_free (struct op *o)
{
  if (o == NULL)
    return;
  g_free (o->a);
  g_free (o->b);
  g_strfreev (o->list);
  kiln_password_free (o->pw);
  g_free (o->data);
  g_free (o);
}

struct kiln_customize *
kiln_customize_new (void)
{
  struct kiln_customize *c = g_new0 (struct kiln_customize, 1);

  c->ops = g_ptr_array_new_with_free_func ((GDestroyNotify) op_free);
  return c;
}

void
kiln_customize_free (struct kiln_customize *c)
{
  if (c == NULL)
    return;
  g_ptr_array_unref (c->ops);
  g_free (c);
}

static const struct kiln_option *
row_of (int id)
{
  for (const struct kiln_option *o = kiln_customize_options; o->long_name; o++)
    if (o->id == id)
      return o;
  return NULL;
}

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

/* A path inside the guest: absolute, and no ".." component (which could
 * point outside the directory the user named). */
static bool
guest_path_ok (const char *opt, const char *p, GError **err)
{
  g_auto (GStrv) parts = NULL;

  if (p == NULL || p[0] != '/')
    return usage (err, opt, "'%s' is not an absolute path in the guest", p ? p : "");
  parts = g_strsplit (p, "/", -1);
  for (char **s = parts; *s; s++)
    if (strcmp (*s, "..") == 0)
      return usage (err, opt, "'%s': '..' is not allowed in guest paths", p);
  return true;
}

/* Split "A:B" at the first colon; both parts non-empty. */
static bool
split2 (const char *opt, const char *arg, const char *form, char **a, char **b, GError **err)
{
  const char *colon = strchr (arg, ':');

  if (colon == NULL || colon == arg || colon[1] == '\0')
    return usage (err, opt, "'%s' is not of the form %s", arg, form);
  *a = g_strndup (arg, (gsize) (colon - arg));
  *b = g_strdup (colon + 1);
  return true;
}

static bool
user_name_ok (const char *u)
{
  if (u == NULL || u[0] == '\0' || u[0] == '-' || strlen (u) > 32)
    return false;
  for (const char *p = u; *p; p++)
    if (!g_ascii_isalnum (*p) && strchr ("._-$", *p) == NULL)
      return false;
  return true;
}

static bool
hostname_ok (const char *h)
{
  g_auto (GStrv) labels = NULL;

  if (h == NULL || h[0] == '\0' || strlen (h) > 253)
    return false;
  labels = g_strsplit (h, ".", -1);
  for (char **l = labels; *l; l++) {
    size_t n = strlen (*l);

    if (n == 0 || n > 63 || (*l)[0] == '-' || (*l)[n - 1] == '-')
      return false;
    for (const char *p = *l; *p; p++)
      if (!g_ascii_isalnum (*p) && *p != '-')
        return false;
  }
  return true;
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

static char **
package_list (const char *opt, const char *arg, GError **err)
{
  g_auto (GStrv) parts = g_strsplit (arg, ",", -1);
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  int n = 0;

  for (char **p = parts; *p; p++) {
    g_strstrip (*p);
    if ((*p)[0] == '\0')
      continue;
    if (!kiln_package_name_ok (*p)) {
      usage (err, opt, "'%s' is not a package name", *p);
      return NULL;
    }
    g_strv_builder_add (b, *p);
    n++;
  }
  if (n == 0) {
    usage (err, opt, "no package named");
    return NULL;
  }
  return g_strv_builder_end (b);
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

static bool
parse_ssh_inject (struct op *o, const char *arg, GError **err)
{
  const char *colon = strchr (arg, ':');
  g_autofree char *file = NULL;

  o->a = colon ? g_strndup (arg, (gsize) (colon - arg)) : g_strdup (arg);
  if (!user_name_ok (o->a))
    return usage (err, "ssh-inject", "'%s' is not a user name", o->a);
  if (colon == NULL) {
    file = default_ssh_key (err);
    if (file == NULL)
      return false;
    o->data = read_key_file (file, err);
  } else if (g_str_has_prefix (colon + 1, "file:") && colon[6] != '\0') {
    o->data = read_key_file (colon + 6, err);
  } else if (g_str_has_prefix (colon + 1, "string:") && colon[8] != '\0') {
    o->data = g_strstrip (g_strdup (colon + 8));
    if (strchr (o->data, '\n') != NULL)
      return usage (err, "ssh-inject", "the key must be one line");
  } else {
    return usage (err, "ssh-inject", "'%s' is not USER, USER:file:FILE or USER:string:KEY", arg);
  }
  return o->data != NULL;
}

static bool
parse_op (struct kiln_customize *c, struct op *o, const char *opt, const char *arg,
          GError **err)
{
  switch (o->id) {
  case CO_ROOT_PASSWORD:
  case CO_PASSWORD: {
    const char *sel = arg;

    if (o->id == CO_PASSWORD) {
      const char *colon = strchr (arg, ':');

      if (colon == NULL || colon == arg)
        return usage (err, opt, "the argument is not of the form USER:SELECTOR");
      o->a = g_strndup (arg, (gsize) (colon - arg));
      if (!user_name_ok (o->a))
        return usage (err, opt, "'%s' is not a user name", o->a);
      sel = colon + 1;
    } else {
      o->a = g_strdup ("root");
    }
    o->pw = kiln_password_parse (sel, err);
    if (o->pw == NULL) {
      g_prefix_error (err, "--%s: ", opt);
      return false;
    }
    if (o->pw->file_exposed)
      kiln_warn ("password file %s can be read by other users (chmod 600 it)", o->pw->file);
    return true;
  }
  case CO_PASSWORD_CRYPTO:
    if (!kiln_password_parse_crypto (arg, &c->crypto))
      return usage (err, opt, "takes yescrypt or sha512, not '%s'", arg);
    return true;
  case CO_INSTALL:
  case CO_UNINSTALL:
    o->list = package_list (opt, arg, err);
    return o->list != NULL;
  case CO_UPDATE:
    return true;
  case CO_RUN: {
    g_autoptr (GError) e = NULL;

    o->a = g_strdup (arg);
    if (!g_file_get_contents (arg, &o->data, NULL, &e))
      return usage (err, opt, "%s", e->message);
    return true;
  }
  case CO_RUN_COMMAND:
    if (arg[0] == '\0')
      return usage (err, opt, "empty command");
    o->a = g_strdup (arg);
    return true;
  case CO_WRITE:
  case CO_APPEND_LINE: {
    const char *colon = strchr (arg, ':');

    /* CONTENT and LINE may be empty and may hold colons. */
    if (colon == NULL || colon == arg)
      return usage (err, opt, "'%s' is not of the form %s", arg,
                    o->id == CO_WRITE ? "FILE:CONTENT" : "FILE:LINE");
    o->a = g_strndup (arg, (gsize) (colon - arg));
    o->b = g_strdup (colon + 1);
    if (o->id == CO_APPEND_LINE && strchr (o->b, '\n') != NULL)
      return usage (err, opt, "LINE must not hold a newline");
    return guest_path_ok (opt, o->a, err);
  }
  case CO_UPLOAD:
  case CO_COPY_IN: {
    struct stat st;

    if (!split2 (opt, arg, o->id == CO_UPLOAD ? "LOCAL:REMOTE" : "LOCAL:DIR", &o->a, &o->b, err))
      return false;
    if (stat (o->a, &st) != 0)
      return usage (err, opt, "%s: %s", o->a, g_strerror (errno));
    if (o->id == CO_UPLOAD && !S_ISREG (st.st_mode))
      return usage (err, opt, "%s is not a regular file (use --copy-in for trees)", o->a);
    return guest_path_ok (opt, o->b, err);
  }
  case CO_MKDIR:
  case CO_DELETE:
  case CO_TOUCH:
    o->a = g_strdup (arg);
    if (!guest_path_ok (opt, o->a, err))
      return false;
    if (o->id == CO_DELETE && strcmp (o->a, "/") == 0)
      return usage (err, opt, "refusing to delete the guest's root directory");
    return true;
  case CO_CHMOD: {
    char *end = NULL;
    long m;

    if (!split2 (opt, arg, "MODE:FILE", &o->a, &o->b, err))
      return false;
    errno = 0;
    m = strtol (o->a, &end, 8);
    if (errno != 0 || *end != '\0' || m < 0 || m > 07777)
      return usage (err, opt, "'%s' is not an octal mode (e.g. 0644)", o->a);
    o->mode = (int) m;
    return guest_path_ok (opt, o->b, err);
  }
  case CO_LINK: {
    g_auto (GStrv) parts = g_strsplit (arg, ":", -1);

    if (g_strv_length (parts) < 2 || parts[0][0] == '\0')
      return usage (err, opt, "'%s' is not of the form TARGET:LINK[:LINK...]", arg);
    o->a = g_strdup (parts[0]);
    o->list = g_strdupv (parts + 1);
    for (char **l = o->list; *l; l++)
      if (!guest_path_ok (opt, *l, err))
        return false;
    return true;
  }
  case CO_HOSTNAME:
    if (!hostname_ok (arg))
      return usage (err, opt, "'%s' is not a valid host name", arg);
    o->a = g_strdup (arg);
    return true;
  case CO_TIMEZONE:
    if (!timezone_ok (arg))
      return usage (err, opt, "'%s' is not a time zone name (e.g. Europe/Madrid)", arg);
    o->a = g_strdup (arg);
    return true;
  case CO_SSH_INJECT:
    return parse_ssh_inject (o, arg, err);
  case CO_FIRSTBOOT_COMMAND:
    if (arg[0] == '\0')
      return usage (err, opt, "empty command");
    o->a = g_strdup (arg);
    return true;
  }
  return usage (err, opt, "not a customize operation");
}

int
kiln_customize_add (struct kiln_customize *c, int id, const char *arg, GError **err)
{
  const struct kiln_option *row = row_of (id);
  struct op *o;

  if (row == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "unknown customize operation (id %d)", id);
    return -1;
  }
  if (row->arg == KILN_ARG_REQUIRED && arg == NULL) {
    usage (err, row->long_name, "needs an argument");
    return -1;
  }
  if (row->arg == KILN_ARG_NONE && arg != NULL) {
    usage (err, row->long_name, "takes no argument");
    return -1;
  }
  o = g_new0 (struct op, 1);
  o->id = id;
  if (!parse_op (c, o, row->long_name, arg, err)) {
    op_free (o);
    return -1;
  }
  if (id == CO_PASSWORD_CRYPTO)     /* a setting, not a step */
    op_free (o);
  else
    g_ptr_array_add (c->ops, o);
  return 0;
}

int
kiln_customize_add_by_name (struct kiln_customize *c, const char *name,
                            const char *arg, GError **err)
{
  const char *n = name;

  if (g_str_has_prefix (n, "--"))
    n += 2;
  for (const struct kiln_option *o = kiln_customize_options; o->long_name; o++)
    if (strcmp (o->long_name, n) == 0)
      return kiln_customize_add (c, o->id, arg, err);
  g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "unknown customize operation '%s'", name);
  return -1;
}

bool
kiln_customize_is_empty (const struct kiln_customize *c)
{
  return c == NULL || c->ops->len == 0;
}

bool
kiln_customize_needs_network (const struct kiln_customize *c)
{
  for (guint i = 0; c && i < c->ops->len; i++) {
    const struct op *o = c->ops->pdata[i];

    if (o->id == CO_INSTALL || o->id == CO_UNINSTALL || o->id == CO_UPDATE)
      return true;
  }
  return false;
}

char *
kiln_customize_describe (const struct kiln_customize *c, guint i)
{
  const struct op *o;
  const struct kiln_option *row;

  if (c == NULL || i >= c->ops->len)
    return NULL;
  o = c->ops->pdata[i];
  row = row_of (o->id);
  switch (o->id) {
  case CO_ROOT_PASSWORD:
  case CO_PASSWORD: {
    static const char *const kinds[] = { "set", "set to a random password", "disabled", "locked" };

    return g_strdup_printf ("--%s: %s's password %s", row->long_name, o->a, kinds[o->pw->kind]);
  }
  case CO_INSTALL:
  case CO_UNINSTALL: {
    g_autofree char *l = g_strjoinv (",", o->list);

    return g_strdup_printf ("--%s %s", row->long_name, l);
  }
  case CO_UPDATE:
    return g_strdup ("--update");
  case CO_SSH_INJECT:
    return g_strdup_printf ("--ssh-inject %s", o->a);
  case CO_CHMOD:
    return g_strdup_printf ("--chmod %04o:%s", (unsigned) o->mode, o->b);
  case CO_LINK: {
    g_autofree char *l = g_strjoinv (":", o->list);

    return g_strdup_printf ("--link %s:%s", o->a, l);
  }
  case CO_WRITE:
  case CO_APPEND_LINE:
    /* What goes into a file may be a secret (a token, a key): logs and
     * manifests say where it went and how much, never what. */
    return g_strdup_printf ("--%s %s (%zu bytes)", row->long_name, o->a, o->b ? strlen (o->b) : 0);
  default:
    if (o->b)
      return g_strdup_printf ("--%s %s:%s", row->long_name, o->a, o->b);
    return g_strdup_printf ("--%s %s", row->long_name, o->a ? o->a : "");
  }
}

/* ------------------------------------------------------------ apply ---- */

struct apply {
  struct kiln_customize *c;
  struct kiln_guest *gu;
  guestfs_h *g;
  bool pkg_lists_fresh;
};

static int
gerr (struct apply *st, GError **err, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static int
gerr (struct apply *st, GError **err, const char *fmt, ...)
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
guest_user (struct apply *st, const char *user, int *uid, int *gid, char **home, GError **err)
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
apply_password (struct apply *st, struct op *o, GError **err)
{
  enum kiln_password_crypto crypto = st->c->crypto;
  g_autofree char *hash = NULL;
  g_autofree char *newtext = NULL;
  char *random_pw = NULL;
  char *text;
  struct guestfs_statns *sb;
  size_t len;
  int trace, r;

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
  text = guestfs_read_file (st->g, "/etc/shadow", &len);
  if (text == NULL) {
    guestfs_free_statns (sb);
    kiln_secret_free (random_pw);
    return gerr (st, err, "cannot read the guest's /etc/shadow");
  }
  newtext = kiln_shadow_set (text, o->a, hash, o->pw->kind == KILN_PASSWORD_LOCKED, err);
  explicit_bzero (text, len);
  free (text);
  if (newtext == NULL) {
    guestfs_free_statns (sb);
    kiln_secret_free (random_pw);
    return -1;
  }
  /* A trace (LIBGUESTFS_TRACE=1) would print the hash: none for this. */
  trace = guestfs_get_trace (st->g);
  guestfs_set_trace (st->g, 0);
  r = guestfs_write (st->g, "/etc/shadow", newtext, strlen (newtext));
  guestfs_set_trace (st->g, trace);
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
    /* The one place a password is shown: the user has no other way to learn it. */
    printf ("%s's password: %s\n", o->a, random_pw);
    fflush (stdout);
    kiln_secret_free (random_pw);
  }
  return 0;
}

static int
run_in_guest (struct apply *st, char *const *argv, const char *what, GError **err)
{
  g_autofree char *out = NULL;
  int status;

  if (kiln_guest_command (st->g, argv, &out, &status, err) == -1)
    return -1;
  if (out[0] != '\0')
    kiln_debug ("%s:\n%s", what, out);
  if (status != 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "%s failed (exit status %d); its last output:\n%s",
                 what, status, kiln_text_tail (out, 20));
    return -1;
  }
  return 0;
}

static int
apply_packages (struct apply *st, struct op *o, GError **err)
{
  enum kiln_pkg_op kind = o->id == CO_INSTALL ? KILN_PKG_INSTALL
    : o->id == CO_UNINSTALL ? KILN_PKG_UNINSTALL : KILN_PKG_UPDATE;
  g_autoptr (GPtrArray) cmds = kiln_packages_commands (st->gu->package_management, kind, o->list,
                                                       !st->pkg_lists_fresh, err);

  if (cmds == NULL)
    return -1;
  for (guint i = 0; i < cmds->len; i++) {
    char **argv = cmds->pdata[i];
    g_autofree char *what = g_strjoinv (" ", argv);

    kiln_debug ("running %s", what);
    if (run_in_guest (st, argv, what, err) == -1)
      return -1;
  }
  if (kind != KILN_PKG_UNINSTALL)
    st->pkg_lists_fresh = true;
  return 0;
}

static int
apply_run (struct apply *st, struct op *o, GError **err)
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
apply_append_line (struct apply *st, struct op *o, GError **err)
{
  g_autoptr (GString) add = g_string_new (NULL);
  int exists = guestfs_exists (st->g, o->a);

  if (exists == -1)
    return gerr (st, err, "--append-line %s", o->a);
  if (exists) {
    size_t len;
    char *cur = guestfs_read_file (st->g, o->a, &len);

    if (cur == NULL)
      return gerr (st, err, "--append-line: cannot read %s", o->a);
    if (len > 0 && cur[len - 1] != '\n')
      g_string_append_c (add, '\n');
    free (cur);
  }
  g_string_append (add, o->b);
  g_string_append_c (add, '\n');
  if (guestfs_write_append (st->g, o->a, add->str, add->len) == -1)
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
edit_file (struct apply *st, const char *path, bool (*match) (const char *),
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
apply_hostname (struct apply *st, struct op *o, GError **err)
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
apply_timezone (struct apply *st, struct op *o, GError **err)
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
apply_ssh_inject (struct apply *st, struct op *o, GError **err)
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
apply_firstboot (struct apply *st, struct op *o, GError **err)
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
apply_upload (struct apply *st, struct op *o, GError **err)
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
  return 0;
}

static int
apply_one (struct apply *st, struct op *o, GError **err)
{
  guestfs_h *g = st->g;

  switch (o->id) {
  case CO_ROOT_PASSWORD:
  case CO_PASSWORD:
    return apply_password (st, o, err);
  case CO_INSTALL:
  case CO_UNINSTALL:
  case CO_UPDATE:
    return apply_packages (st, o, err);
  case CO_RUN:
    return apply_run (st, o, err);
  case CO_RUN_COMMAND: {
    char *argv[] = { (char *) "/bin/sh", (char *) "-c", o->a, NULL };
    g_autofree char *what = g_strdup_printf ("--run-command '%s'", o->a);

    return run_in_guest (st, argv, what, err);
  }
  case CO_WRITE:
    if (guestfs_write (g, o->a, o->b, strlen (o->b)) == -1)
      return gerr (st, err, "--write: cannot write %s", o->a);
    return 0;
  case CO_UPLOAD:
    return apply_upload (st, o, err);
  case CO_COPY_IN:
    if (guestfs_copy_in (g, o->a, o->b) == -1)
      return gerr (st, err, "--copy-in %s:%s", o->a, o->b);
    return 0;
  case CO_MKDIR:
    if (guestfs_mkdir_p (g, o->a) == -1)
      return gerr (st, err, "--mkdir %s", o->a);
    return 0;
  case CO_DELETE:
    if (guestfs_rm_rf (g, o->a) == -1)
      return gerr (st, err, "--delete %s", o->a);
    return 0;
  case CO_CHMOD:
    if (guestfs_chmod (g, o->mode, o->b) == -1)
      return gerr (st, err, "--chmod %s", o->b);
    return 0;
  case CO_LINK:
    for (char **l = o->list; *l; l++)
      if (guestfs_ln_sf (g, o->a, *l) == -1)
        return gerr (st, err, "--link %s:%s", o->a, *l);
    return 0;
  case CO_APPEND_LINE:
    return apply_append_line (st, o, err);
  case CO_TOUCH:
    if (guestfs_touch (g, o->a) == -1)
      return gerr (st, err, "--touch %s", o->a);
    return 0;
  case CO_HOSTNAME:
    return apply_hostname (st, o, err);
  case CO_TIMEZONE:
    return apply_timezone (st, o, err);
  case CO_SSH_INJECT:
    return apply_ssh_inject (st, o, err);
  case CO_FIRSTBOOT_COMMAND:
    return apply_firstboot (st, o, err);
  }
  g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "internal: operation %d has no action", o->id);
  return -1;
}

int
kiln_customize_apply (struct kiln_customize *c, struct kiln_guest *gu,
                      bool dry_run, GError **err)
{
  struct apply st = { .c = c, .gu = gu, .g = gu->g };

  if (c == NULL)
    return 0;
  if (c->ops->len > 0 && g_strcmp0 (gu->type, "linux") != 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "customize operations work on Linux guests; this one is %s",
                 gu->type ? gu->type : "unknown");
    return -1;
  }
  for (guint i = 0; i < c->ops->len; i++) {
    g_autofree char *what = kiln_customize_describe (c, i);

    if (dry_run) {
      printf ("would run: %s\n", what);
      continue;
    }
    kiln_info ("%s", what);
    if (apply_one (&st, c->ops->pdata[i], err) == -1)
      return -1;
  }
  if (dry_run)
    fflush (stdout);
  return 0;
}
