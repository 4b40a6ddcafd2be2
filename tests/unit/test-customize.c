/* test-customize.c: the table of customize operations (every row has an
 * option, a recipe key, help, a describe line and its man-page entries),
 * splitting into typed parts, parsing (selectors, malformed arguments,
 * order), password hashing checked with crypt_r, /etc/shadow editing and
 * the package manager commands. */
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>

#include "tap.h"
#include "customize.h"
#include "packages.h"
#include "password.h"
#include "secret.h"

static int
add (struct kiln_customize *c, const char *name, const char *arg)
{
  GError *err = NULL;
  int r = kiln_customize_add_by_name (c, name, arg, &err);

  if (r == -1)
    g_error_free (err);
  return r;
}

static void
test_rejects (void)
{
  g_autoptr (kiln_customize) c = kiln_customize_new ();
  static const char *const bad[][3] = {
    { "no-such-op", "x", "an unknown operation" },
    { "root-password", "foo:bar", "an unknown selector" },
    { "root-password", "password:", "an empty password:" },
    { "root-password", "file:", "an empty file:" },
    { "root-password", "file:/nonexistent/kiln-pw", "a missing file:" },
    { "root-password", "secret", "a bare word" },
    { "root-password", "locked:", "locked: without a selector" },
    { "root-password", "locked:secret", "locked: with a bare word" },
    { "password", "alice:locked:password:", "locked:password: without a password" },
    { "password", "alice", "--password without a selector" },
    { "password", ":password:x", "--password without a user" },
    { "password", "bad user:password:x", "--password with a bad user name" },
    { "password-crypto", "md5", "--password-crypto md5" },
    { "install", "-oAPT::x=y", "a package that is an option" },
    { "install", "a b", "a package with a blank" },
    { "install", ",,", "an empty package list" },
    { "uninstall", "", "an empty --uninstall" },
    { "write", "etc/motd:x", "a relative --write path" },
    { "write", "nocolon", "--write without a colon" },
    { "upload", "/etc/hostname:/root/../../etc/x", "--upload target with .." },
    { "upload", "/nonexistent/kiln-file:/root/", "--upload of a missing file" },
    { "upload", "/etc:/root/", "--upload of a directory" },
    { "copy-in", "/etc/hostname", "--copy-in without a colon" },
    { "mkdir", "srv", "a relative --mkdir" },
    { "mkdir", "/srv/../..", "--mkdir with .." },
    { "delete", "/", "--delete /" },
    { "chmod", "0644", "--chmod without a file" },
    { "chmod", "999:/etc/motd", "--chmod with a non-octal mode" },
    { "chmod", "u+x:/etc/motd", "--chmod with a symbolic mode" },
    { "link", "/etc/motd", "--link without a link name" },
    { "link", "/etc/motd:rel", "--link to a relative name" },
    { "append-line", ":x", "--append-line without a file" },
    { "touch", "/a/../b", "--touch with .." },
    { "hostname", "bad_name", "a host name with _" },
    { "hostname", "-lead.example.com", "a host name label starting with -" },
    { "timezone", "../../etc/shadow", "a time zone with .." },
    { "timezone", "/Europe/Madrid", "an absolute time zone" },
    { "ssh-inject", "root:string:", "--ssh-inject with an empty key" },
    { "ssh-inject", "root:file:/nonexistent/key.pub", "--ssh-inject with a missing file" },
    { "ssh-inject", "root:bogus:x", "--ssh-inject with an unknown form" },
    { "run", "/nonexistent/script.sh", "--run with a missing script" },
    { "run-command", "", "an empty --run-command" },
    { "update", "x", "--update with an argument" },
    { "firstboot-command", NULL, "--firstboot-command without an argument" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    is_int (add (c, bad[i][0], bad[i][1]), -1, "rejected: %s", bad[i][2]);
  ok (kiln_customize_is_empty (c), "nothing rejected was added");
}

static void
test_order_and_describe (void)
{
  g_autoptr (kiln_customize) c = kiln_customize_new ();
  static const char *const ops[][3] = {
    { "hostname", "web1.example.com", "--hostname web1.example.com" },
    { "--root-password", "password:hunter2", "--root-password: root's password set" },
    { "install", "nginx, curl", "--install nginx,curl" },
    { "write", "/etc/motd:a:b", "--write /etc/motd (3 bytes)" },
    { "chmod", "600:/etc/motd", "--chmod 0600:/etc/motd" },
    { "link", "/etc/motd:/a:/b", "--link /etc/motd:/a:/b" },
    { "password", "alice:locked", "--password: alice's password locked" },
    { "password-crypto", "sha512", NULL },
    { "append-line", "/etc/x:", "--append-line /etc/x (0 bytes)" },
    { "timezone", "Europe/Madrid", "--timezone Europe/Madrid" },
    { "ssh-inject", "root:string:ssh-ed25519 AAAA k", "--ssh-inject root" },
    { "update", NULL, "--update" },
    { "run-command", "echo hi", "--run-command echo hi" },
    { "password", "bob:random", "--password: bob's password set to a random password" },
    { "root-password", "disabled", "--root-password: root's password disabled" },
    { "root-password", "locked:password:hunter2", "--root-password: root's password set, and the account locked" },
    { "password", "carol:locked:disabled", "--password: carol's password disabled, and the account locked" },
    { "password", "dave:lock:random", "--password: dave's password set to a random password, and the account locked" },
  };
  guint n = 0;

  ok (!kiln_customize_needs_network (c), "no operation: no network");
  for (size_t i = 0; i < G_N_ELEMENTS (ops); i++)
    is_int (add (c, ops[i][0], ops[i][1]), 0, "accepted: --%s", ops[i][0]);
  for (size_t i = 0; i < G_N_ELEMENTS (ops); i++) {
    g_autofree char *d = NULL;

    if (ops[i][2] == NULL)
      continue;                 /* a setting, not a step */
    d = kiln_customize_describe (c, n++);
    is_str (d, ops[i][2], "step %u is described in the order given", n);
  }
  ok (kiln_customize_describe (c, n) == NULL, "no step past the last");
  for (guint i = 0; i < n; i++) {
    g_autofree char *d = kiln_customize_describe (c, i);

    if (strstr (d, "hunter2"))
      ok (0, "a description holds the password");
  }
  ok (1, "no description holds the password");
  ok (kiln_customize_needs_network (c), "--install needs the network");
}

/* One valid command-line argument per operation (NULL: none).  A new
 * operation needs a sample here, or test_table fails. */
static const char *const samples[][2] = {
  { "root-password", "disabled" },
  { "password", "alice:locked" },
  { "password-crypto", "yescrypt" },
  { "selinux-relabel", NULL },
  { "no-selinux-relabel", NULL },
  { "install", "nginx" },
  { "uninstall", "exim4" },
  { "update", NULL },
  { "run", "/etc/hostname" },
  { "run-command", "true" },
  { "write", "/etc/motd:hi" },
  { "upload", "/etc/hostname:/root/" },
  { "copy-in", "/etc/hostname:/root" },
  { "mkdir", "/srv/x" },
  { "delete", "/etc/issue.net" },
  { "chmod", "0644:/etc/motd" },
  { "link", "/etc/motd:/root/m" },
  { "append-line", "/etc/motd:more" },
  { "touch", "/etc/x" },
  { "hostname", "h1" },
  { "timezone", "UTC" },
  { "ssh-inject", "root:string:ssh-ed25519 AAAA k" },
  { "firstboot-command", "true" },
};

static void
test_table (void)
{
  g_autofree char *page = NULL, *recipe5 = NULL;
  size_t n = 0;

  ok (g_file_get_contents ("docs/kiln-customize.1.scd", &page, NULL, NULL), "kiln-customize(1) source read");
  ok (g_file_get_contents ("docs/kiln-recipe.5.scd", &recipe5, NULL, NULL), "kiln-recipe(5) source read");
  for (const struct kiln_customize_op *op = kiln_customize_ops; op->name; op++, n++) {
    const struct kiln_option *o = &kiln_customize_options[n];
    const char *sample = NULL;
    bool has_sample = false;
    g_autoptr (kiln_customize) c = kiln_customize_new ();
    g_autoptr (GError) err = NULL;
    g_autofree char *opt = g_strdup_printf ("*--%s*", op->name);
    g_autofree char *key = g_strdup_printf ("*%s*", op->name);

    ok (o->long_name && strcmp (o->long_name, op->name) == 0 && o->help == op->help &&
        o->metavar == op->metavar && o->id == KILN_OPT_CUSTOMIZE_BASE + (int) n &&
        (o->arg == KILN_ARG_NONE) == (op->shape == KILN_CUSTOMIZE_NONE),
        "%s: its command-line option comes from its row", op->name);
    ok (op->help && op->help[0] && (op->metavar != NULL) == (op->shape != KILN_CUSTOMIZE_NONE),
        "%s: help, and a metavar when it takes an argument", op->name);
    ok (kiln_customize_op_find (op->name) == op && kiln_customize_op_find (opt + 1) == NULL,
        "%s: found by name", op->name);
    ok (op->parse && ((op->flags & KILN_CUSTOMIZE_SETTING) ? op->apply == NULL : op->apply != NULL),
        "%s: parse, and apply unless a setting", op->name);
    if (op->shape >= KILN_CUSTOMIZE_PAIR)
      ok (op->keys[0] && op->keys[1], "%s: a recipe mapping has keys for its parts", op->name);
    ok (page && strstr (page, opt) != NULL, "%s: kiln-customize(1) documents %s", op->name, opt);
    ok (recipe5 && strstr (recipe5, key) != NULL, "%s: kiln-recipe(5) names the key", op->name);
    for (size_t i = 0; i < G_N_ELEMENTS (samples); i++)
      if (strcmp (samples[i][0], op->name) == 0) {
        sample = samples[i][1];
        has_sample = true;
      }
    if (!ok (has_sample, "%s: has a sample in test-customize.c", op->name))
      continue;
    if (!ok (kiln_customize_add_by_name (c, op->name, sample, &err) == 0, "%s: the sample is accepted", op->name)) {
      diag (err->message);
      continue;
    }
    if (op->flags & KILN_CUSTOMIZE_SETTING) {
      ok (kiln_customize_is_empty (c), "%s: a setting adds no step", op->name);
    } else {
      g_autofree char *d = kiln_customize_describe (c, 0);
      g_autofree char *prefix = g_strdup_printf ("--%s", op->name);

      ok (d && g_str_has_prefix (d, prefix), "%s: described as '%s'", op->name, d ? d : "(null)");
    }
    ok (kiln_customize_needs_network (c) == !!(op->flags & KILN_CUSTOMIZE_NETWORK),
        "%s: needs the network only when its row says so", op->name);
  }
  ok (n == G_N_ELEMENTS (samples), "%zu operations, %zu samples", n, G_N_ELEMENTS (samples));
  ok (kiln_customize_options[n].long_name == NULL, "the option rows end after the last operation");
}

/* Each shape splits the command line's string into typed parts. */
static void
test_split (void)
{
  static const char *const cases[][3] = {
    { "write", "/etc/motd:a:b", "/etc/motd|a:b" },
    { "write", "/etc/motd:", "/etc/motd|" },
    { "install", " a, ,b ", "a|b" },
    { "link", "/t:/a:/b", "/t|/a|/b" },
    { "ssh-inject", "root", "root" },
    { "ssh-inject", "root:file:/k.pub", "root|file|/k.pub" },
    { "ssh-inject", "root:string:ssh-ed25519 A:B", "root|string|ssh-ed25519 A:B" },
    { "password", "alice:password:x:y", "alice|password:x:y" },
    { "hostname", "a:b", "a:b" },
    { "update", NULL, "" },
    { "write", "nocolon", NULL },
    { "password", "alice", NULL },
    { "ssh-inject", "root:bogus:x", NULL },
    { "update", "x", NULL },
    { "mkdir", NULL, NULL },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) err = NULL;
    g_auto (GStrv) parts = kiln_customize_split (kiln_customize_op_find (cases[i][0]), cases[i][1], &err);
    g_autofree char *got = parts ? g_strjoinv ("|", parts) : NULL;

    is_str (got, cases[i][2], "--%s %s splits into its parts", cases[i][0], cases[i][1] ? cases[i][1] : "");
  }
  {
    g_autoptr (GError) err = NULL;
    g_auto (GStrv) parts = kiln_customize_split (kiln_customize_op_find ("password"), "alice", &err);

    ok (parts == NULL && err && strstr (err->message, "alice") == NULL,
        "a malformed --password does not echo what may be a password");
  }
  {
    const char *pw[] = { "admin", "password:hunter2", NULL };
    const char *ls[] = { "a", "b", NULL };
    g_autofree char *t1 = kiln_customize_args_text (kiln_customize_op_find ("password"), pw);
    g_autofree char *t2 = kiln_customize_args_text (kiln_customize_op_find ("install"), ls);

    is_str (t1, "admin:password:<redacted>", "parts written back, the password redacted");
    is_str (t2, "a,b", "a list written back with commas");
  }
}

/* Typed parts reach the operation whole: no second split. */
static void
test_typed (void)
{
  g_autoptr (kiln_customize) c = kiln_customize_new ();
  g_autoptr (GError) err = NULL;
  const char *w[] = { "/etc/a:b", "c:d", NULL };
  const char *bad[] = { "/etc/a:b", NULL };
  const char *none[] = { NULL };
  g_autofree char *d = NULL;

  is_int (kiln_customize_add_args (c, kiln_customize_op_find ("write"), w, &err), 0,
          "write with a ':' in the path, given as parts");
  d = kiln_customize_describe (c, 0);
  is_str (d, "--write /etc/a:b (3 bytes)", "the path reached the operation whole");
  is_int (kiln_customize_add_args (c, kiln_customize_op_find ("write"), bad, &err), -1,
          "write with one part is refused");
  g_clear_error (&err);
  is_int (kiln_customize_add_args (c, kiln_customize_op_find ("hostname"), none, &err), -1,
          "hostname without a part is refused");
  g_clear_error (&err);
  is_int (kiln_customize_add_args (c, kiln_customize_op_find ("update"), NULL, &err), 0,
          "update takes no parts");
  ok (kiln_customize_generated_passwords (c) != NULL && kiln_customize_generated_passwords (c)->len == 0,
      "no password generated before apply: an empty list, nothing printed");
}

static void
test_file_selector (void)
{
  char path[] = "/tmp/kiln-test-pw-XXXXXX";
  int fd = mkstemp (path);
  g_autoptr (GError) err = NULL;
  struct kiln_password *p;

  ok (fd >= 0, "temporary password file");
  if (write (fd, "first line\r\nsecond\n", 19) != 19)
    ok (0, "write");
  close (fd);
  chmod (path, 0600);
  {
    g_autofree char *sel = g_strdup_printf ("file:%s", path);

    p = kiln_password_parse (sel, &err);
    ok (p != NULL, "file: selector parsed");
    is_str (p ? p->secret : NULL, "first line", "file: takes the first line, without CR/LF");
    ok (p && !p->file_exposed, "a 0600 file is not flagged");
    kiln_password_free (p);
    chmod (path, 0644);
    p = kiln_password_parse (sel, &err);
    ok (p && p->file_exposed, "a 0644 file is flagged as readable by others");
    kiln_password_free (p);
  }
  unlink (path);

  p = kiln_password_parse ("password:a:b c", &err);
  is_str (p ? p->secret : NULL, "a:b c", "password: keeps colons and blanks");
  kiln_password_free (p);
  p = kiln_password_parse ("random", &err);
  ok (p && p->kind == KILN_PASSWORD_RANDOM, "random");
  kiln_password_free (p);
  p = kiln_password_parse ("disabled", &err);
  ok (p && p->kind == KILN_PASSWORD_DISABLED, "disabled");
  kiln_password_free (p);
  p = kiln_password_parse ("locked", &err);
  ok (p && p->kind == KILN_PASSWORD_LOCKED, "locked");
  kiln_password_free (p);
  {
    struct kiln_password_selector ps;
    g_autofree char *shown = kiln_password_selector_shown ("password:hunter2");
    g_autofree char *kept = kiln_password_selector_shown ("file:/x");

    ok (kiln_password_selector_parse ("file:/nonexistent/pw", &ps, NULL) && ps.kind == KILN_PASSWORD_PLAIN &&
        g_strcmp0 (ps.file, "/nonexistent/pw") == 0, "the selector parser reads nothing: file: gives the path");
    ok (kiln_password_selector_parse ("password:a:b", &ps, NULL) && g_strcmp0 (ps.secret, "a:b") == 0,
        "password: gives the rest");
    ok (!kiln_password_selector_parse ("secret", &ps, NULL), "a bare word is not a selector");
    is_str (shown, "password:<redacted>", "password:P shown redacted");
    is_str (kept, "file:/x", "file:F shown as written");
  }
  /* virt-customize's locked:SELECTOR: that selector, then the lock. */
  p = kiln_password_parse ("locked:password:a:b", &err);
  ok (p && p->kind == KILN_PASSWORD_PLAIN && p->locked && g_strcmp0 (p->secret, "a:b") == 0,
      "locked:password:P sets P and locks");
  kiln_password_free (p);
  p = kiln_password_parse ("lock:disabled", &err);
  ok (p && p->kind == KILN_PASSWORD_DISABLED && p->locked, "lock:disabled");
  kiln_password_free (p);
  p = kiln_password_parse ("disabled", &err);
  ok (p && !p->locked, "a selector without locked: does not lock");
  kiln_password_free (p);
  {
    g_autofree char *s1 = kiln_password_selector_shown ("locked:password:hunter2");
    g_autofree char *s2 = kiln_password_selector_shown ("lock:locked:password:hunter2");
    g_autofree char *s3 = kiln_password_selector_shown ("locked:random");

    is_str (s1, "locked:password:<redacted>", "locked:password:P shown redacted");
    is_str (s2, "lock:locked:password:<redacted>", "behind several lock prefixes too");
    is_str (s3, "locked:random", "locked:random shown as written");
  }
  p = kiln_password_parse ("foo:topsecret", &err);
  ok (p == NULL && err && strstr (err->message, "topsecret") == NULL,
      "an unknown selector's error does not echo what may be a password");
}

/* One spelling of a guest path (kiln_guest_path_normalize), and every
 * destructive operation judged on it: "--delete //" is the root. */
static void
test_guest_paths (void)
{
  static const char *const good[][2] = {
    { "/", "/" }, { "//", "/" }, { "/.", "/" }, { "/./", "/" }, { "///", "/" }, { "/././/.", "/" },
    { "/etc/", "/etc" }, { "//etc//motd", "/etc/motd" }, { "/etc/./motd/.", "/etc/motd" },
    { "/a b/c:d", "/a b/c:d" }, { "/...", "/..." }, { "/.hidden/..x", "/.hidden/..x" },
  };
  static const char *const bad[] = { "", "etc/motd", "./etc", "/..", "/../", "/a/..", "/a/../b", "..", "~/x" };
  static const char *const root_spellings[] = { "/", "//", "/.", "/./", "///", "/./.", "/.//./" };
  static const char *const not_root_ops[][3] = {   /* operation, before, after the path */
    { "delete", "", "" }, { "write", "", ":x" }, { "append-line", "", ":x" }, { "touch", "", "" },
    { "link", "/etc/motd:", "" }, { "link", "/etc/motd:/a:", "" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (good); i++) {
    g_autoptr (GError) err = NULL;
    g_autofree char *n = kiln_guest_path_normalize (good[i][0], &err);

    is_str (n, good[i][1], "guest path '%s' is '%s'", good[i][0], good[i][1]);
  }
  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) err = NULL;
    g_autofree char *n = kiln_guest_path_normalize (bad[i], &err);

    ok (n == NULL && err && err->code == KILN_ERROR_USAGE, "guest path '%s' is refused", bad[i]);
  }
  {
    g_autoptr (GError) err = NULL;

    ok (kiln_guest_path_normalize (NULL, &err) == NULL && err, "no guest path is refused");
  }
  for (size_t i = 0; i < G_N_ELEMENTS (root_spellings); i++)
    for (size_t j = 0; j < G_N_ELEMENTS (not_root_ops); j++) {
      g_autoptr (kiln_customize) c = kiln_customize_new ();
      g_autoptr (GError) err = NULL;
      g_autofree char *arg = g_strconcat (not_root_ops[j][1], root_spellings[i], not_root_ops[j][2], NULL);

      is_int (kiln_customize_add_by_name (c, not_root_ops[j][0], arg, &err), -1,
              "--%s %s is refused: the guest's root", not_root_ops[j][0], arg);
      ok (err && strstr (err->message, "root directory") != NULL && kiln_customize_is_empty (c),
          "--%s %s: the error says so, nothing added", not_root_ops[j][0], arg);
    }
  {
    /* Other operations get the normalized path; the root is fine where it
     * is a directory to put things in. */
    static const char *const ops[][3] = {
      { "write", "//etc//motd/:hi", "--write /etc/motd (2 bytes)" },
      { "chmod", "0755:/./", "--chmod 0755:/" },
      { "mkdir", "/srv//www/.", "--mkdir /srv/www" },
      { "copy-in", "/etc/hostname://", "--copy-in /etc/hostname:/" },
      { "upload", "/etc/hostname:/root/./", "--upload /etc/hostname:/root" },
      { "link", "/usr/bin/x://usr/local/bin/x/", "--link /usr/bin/x:/usr/local/bin/x" },
      { "delete", "/etc/issue.net/", "--delete /etc/issue.net" },
      { "touch", "/./etc//x", "--touch /etc/x" },
    };
    g_autoptr (kiln_customize) c = kiln_customize_new ();

    for (size_t i = 0; i < G_N_ELEMENTS (ops); i++) {
      g_autoptr (GError) err = NULL;
      g_autofree char *d = NULL;

      if (!ok (kiln_customize_add_by_name (c, ops[i][0], ops[i][1], &err) == 0, "--%s %s accepted", ops[i][0], ops[i][1])) {
        diag (err->message);
        continue;
      }
      d = kiln_customize_describe (c, (guint) i);
      is_str (d, ops[i][2], "and applied to the normalized path");
    }
  }
}

/* file: reads one bounded line of a regular file, nothing else. */
static void
test_file_selector_bounds (void)
{
  g_autofree char *dir = g_dir_make_tmp ("kiln-test-pwfile-XXXXXX", NULL);
  g_autofree char *fifo = g_build_filename (dir, "fifo", NULL);
  g_autofree char *nul = g_build_filename (dir, "nul", NULL);
  g_autofree char *longf = g_build_filename (dir, "long", NULL);
  g_autofree char *exact = g_build_filename (dir, "exact", NULL);
  g_autofree char *big = g_strnfill (KILN_SECRET_LINE_MAX + 1, 'x');
  g_autofree char *fits = g_strnfill (KILN_SECRET_LINE_MAX, 'y');
  static const struct { const char *sel; const char *why; } refused[] = {
    { "file:/dev/zero", "file:/dev/zero (a device, endless)" },
    { "file:/dev/null", "file:/dev/null (a device)" },
    { "file:/", "a directory" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (refused); i++) {
    g_autoptr (GError) err = NULL;
    gint64 t0 = g_get_monotonic_time ();
    struct kiln_password *p = kiln_password_parse (refused[i].sel, &err);

    ok (p == NULL && err && strstr (err->message, "not a regular file") != NULL,
        "%s is refused: not a regular file", refused[i].why);
    ok (g_get_monotonic_time () - t0 < G_USEC_PER_SEC, "at once");
    kiln_password_free (p);
  }
  ok (mkfifo (fifo, 0600) == 0, "a FIFO with no writer");
  {
    g_autoptr (GError) err = NULL;
    g_autofree char *sel = g_strconcat ("file:", fifo, NULL);
    gint64 t0 = g_get_monotonic_time ();
    struct kiln_password *p = kiln_password_parse (sel, &err);

    ok (p == NULL && err && strstr (err->message, "not a regular file") != NULL, "a FIFO is refused");
    ok (g_get_monotonic_time () - t0 < G_USEC_PER_SEC, "without blocking");
    kiln_password_free (p);
  }
  g_file_set_contents (nul, "ab\0cd\n", 6, NULL);
  g_file_set_contents (longf, big, -1, NULL);
  {
    g_autofree char *text = g_strconcat (fits, "\nrest", NULL);

    g_file_set_contents (exact, text, -1, NULL);
  }
  {
    g_autoptr (GError) err = NULL;
    g_autofree char *sel = g_strconcat ("file:", nul, NULL);
    struct kiln_password *p = kiln_password_parse (sel, &err);

    ok (p == NULL && err && strstr (err->message, "NUL") != NULL, "a NUL in the line is refused");
    kiln_password_free (p);
  }
  {
    g_autoptr (GError) err = NULL;
    g_autofree char *sel = g_strconcat ("file:", longf, NULL);
    struct kiln_password *p = kiln_password_parse (sel, &err);

    ok (p == NULL && err && strstr (err->message, "longer than") != NULL && strstr (err->message, "xxxx") == NULL,
        "a line over %d bytes is refused, without echoing it", KILN_SECRET_LINE_MAX);
    kiln_password_free (p);
  }
  {
    g_autoptr (GError) err = NULL;
    g_autofree char *sel = g_strconcat ("file:", exact, NULL);
    struct kiln_password *p = kiln_password_parse (sel, &err);

    ok (p && strlen (p->secret) == KILN_SECRET_LINE_MAX, "a line of exactly %d bytes is read", KILN_SECRET_LINE_MAX);
    kiln_password_free (p);
  }
  unlink (fifo);
  unlink (nul);
  unlink (longf);
  unlink (exact);
  rmdir (dir);
}

static void
test_hashing (void)
{
  g_autoptr (GError) err = NULL;
  g_autofree char *y = kiln_password_hash ("correct horse", KILN_CRYPTO_YESCRYPT, &err);
  g_autofree char *y2 = kiln_password_hash ("correct horse", KILN_CRYPTO_YESCRYPT, &err);
  g_autofree char *s = kiln_password_hash ("correct horse", KILN_CRYPTO_SHA512, &err);
  g_autofree char *r = kiln_password_random (16, &err);

  ok (y && g_str_has_prefix (y, "$y$"), "yescrypt hash starts with $y$");
  ok (s && g_str_has_prefix (s, "$6$"), "sha512 hash starts with $6$");
  ok (y && kiln_password_verify ("correct horse", y), "crypt_r verifies the yescrypt hash");
  ok (s && kiln_password_verify ("correct horse", s), "crypt_r verifies the sha512 hash");
  ok (y && !kiln_password_verify ("wrong horse", y), "a wrong password does not verify");
  ok (y && y2 && strcmp (y, y2) != 0, "two hashes of one password differ (random salt)");
  ok (r && strlen (r) == 16 && strspn (r, "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789") == 16,
      "random password: 16 unambiguous characters");

  is_int (kiln_password_crypto_for ("debian", 12), KILN_CRYPTO_YESCRYPT, "debian 12: yescrypt");
  is_int (kiln_password_crypto_for ("debian", 11), KILN_CRYPTO_YESCRYPT, "debian 11: yescrypt");
  is_int (kiln_password_crypto_for ("debian", 10), KILN_CRYPTO_SHA512, "debian 10: sha512");
  is_int (kiln_password_crypto_for ("ubuntu", 20), KILN_CRYPTO_YESCRYPT, "ubuntu 20.04: yescrypt");
  is_int (kiln_password_crypto_for ("ubuntu", 18), KILN_CRYPTO_SHA512, "ubuntu 18.04: sha512");
  is_int (kiln_password_crypto_for ("fedora", 30), KILN_CRYPTO_YESCRYPT, "fedora 30: yescrypt");
  is_int (kiln_password_crypto_for ("rhel", 8), KILN_CRYPTO_SHA512, "rhel 8: sha512");
  is_int (kiln_password_crypto_for ("rhel", 9), KILN_CRYPTO_YESCRYPT, "rhel 9: yescrypt");
  is_int (kiln_password_crypto_for ("unknownos", 99), KILN_CRYPTO_SHA512, "unknown distro: sha512");
}

static void
test_shadow (void)
{
  static const char shadow[] = "root:*:19000:0:99999:7:::\nrootx:!:1::::::\nalice:$6$x$y:19000::::::\n";
  g_autoptr (GError) err = NULL;
  g_autofree char *a = kiln_shadow_set (shadow, "root", "$y$new", false, &err);
  g_autofree char *b = kiln_shadow_set (shadow, "alice", "", true, &err);
  g_autofree char *b2 = b ? kiln_shadow_set (b, "alice", "", true, &err) : NULL;
  g_autofree char *c = kiln_shadow_set (shadow, "bob", "x", false, &err);

  is_str (a, "root:$y$new:19000:0:99999:7:::\nrootx:!:1::::::\nalice:$6$x$y:19000::::::\n",
          "root's field replaced, rootx untouched, the rest kept");
  is_str (b, "root:*:19000:0:99999:7:::\nrootx:!:1::::::\nalice:!$6$x$y:19000::::::\n",
          "locked puts ! in front");
  is_str (b2, b, "locking twice adds one !");
  ok (c == NULL && err && err->code == KILN_ERROR_NOT_FOUND, "a user without a line is an error");
  {
    g_autofree char *d = kiln_shadow_set (shadow, "root", "$y$new", true, NULL);
    g_autofree char *e = kiln_shadow_set (shadow, "alice", "*", true, NULL);

    is_str (d, "root:!$y$new:19000:0:99999:7:::\nrootx:!:1::::::\nalice:$6$x$y:19000::::::\n",
            "locked:password: the new hash with ! in front");
    is_str (e, "root:*:19000:0:99999:7:::\nrootx:!:1::::::\nalice:!*:19000::::::\n",
            "locked:disabled: !* (as virt-customize writes)");
  }
}

static void
test_packages (void)
{
  g_autoptr (GError) err = NULL;
  char *pkgs[] = { (char *) "nginx", (char *) "curl", NULL };
  g_autoptr (GPtrArray) apt = kiln_packages_commands ("apt", KILN_PKG_INSTALL, pkgs, true, &err);
  g_autoptr (GPtrArray) aptrm = kiln_packages_commands ("apt", KILN_PKG_UNINSTALL, pkgs, true, &err);
  g_autoptr (GPtrArray) dnf = kiln_packages_commands ("dnf", KILN_PKG_UPDATE, NULL, true, &err);
  g_autoptr (GPtrArray) bad = kiln_packages_commands ("portage", KILN_PKG_INSTALL, pkgs, true, &err);
  g_autofree char *j0 = apt && apt->len == 2 ? g_strjoinv (" ", apt->pdata[0]) : NULL;
  g_autofree char *j1 = apt && apt->len == 2 ? g_strjoinv (" ", apt->pdata[1]) : NULL;
  g_autofree char *r0 = aptrm && aptrm->len == 1 ? g_strjoinv (" ", aptrm->pdata[0]) : NULL;
  g_autofree char *d0 = dnf && dnf->len == 1 ? g_strjoinv (" ", dnf->pdata[0]) : NULL;

  ok (j0 && g_str_has_prefix (j0, "/usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get -y")
      && g_str_has_suffix (j0, " update"), "apt: lists refreshed first, non-interactive");
  ok (j1 && g_str_has_suffix (j1, " install nginx curl"), "apt: then install, each package one word");
  ok (r0 && g_str_has_suffix (r0, " remove --purge nginx curl"), "apt remove needs no refresh");
  is_str (d0, "dnf -y upgrade", "dnf update");
  ok (bad == NULL, "an unknown package manager is an error");
  ok (kiln_package_name_ok ("libc6:amd64") && kiln_package_name_ok ("g++"), "names with : and + pass");
  ok (!kiln_package_name_ok ("--force") && !kiln_package_name_ok ("a;b"), "options and ; fail");
  is_str (kiln_text_tail ("a\nb\nc\nd\n", 2), "c\nd\n", "the tail of an output");
  is_str (kiln_text_tail ("one", 5), "one", "a short output is whole");
}

int
main (void)
{
  test_table ();
  test_split ();
  test_typed ();
  test_rejects ();
  test_order_and_describe ();
  test_file_selector ();
  test_file_selector_bounds ();
  test_guest_paths ();
  test_hashing ();
  test_shadow ();
  test_packages ();
  return done_testing ();
}
