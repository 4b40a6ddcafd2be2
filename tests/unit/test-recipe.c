/* test-recipe.c: the recipe parser (lib/recipe.c).  Malformed recipes in
 * tests/recipes/bad/ must fail with the message in the .expected file
 * beside each (golden files: KILN_REGENERATE=1 make check-unit rewrites
 * them); good ones must give the expected structure; every example in
 * recipes/ must load; kiln-recipe(5) must hold debian-12-base.yaml. */
#include <stdlib.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <string.h>
#include <glib.h>

#include "tap.h"
#include "customize.h"
#include "event.h"
#include "recipe.h"
#include "secret.h"
#include "secret.h"

/* The limits must stop a hostile recipe at once: one second on a plain
 * build; sanitizers slow every allocation down many times, so their
 * builds get ten. */
#if defined(__SANITIZE_ADDRESS__)
# define TIME_BOUND 10.0
#else
# define TIME_BOUND 1.0
#endif

#define BAD_DIR "tests/recipes/bad"
#define GOOD_DIR "tests/recipes/good"

static int
cmp_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static GPtrArray *
yaml_files (const char *dir)
{
  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)))
    if (g_str_has_suffix (name, ".yaml"))
      g_ptr_array_add (files, g_build_filename (dir, name, NULL));
  g_ptr_array_sort (files, cmp_paths);
  return files;
}

static void
test_bad_corpus (void)
{
  g_autoptr (GPtrArray) files = yaml_files (BAD_DIR);
  bool regen = g_strcmp0 (g_getenv ("KILN_REGENERATE"), "1") == 0;

  ok (files->len >= 30, "the bad corpus has %u recipes", files->len);
  for (guint i = 0; i < files->len; i++) {
    const char *f = files->pdata[i];
    g_autoptr (GError) err = NULL;
    g_autoptr (kiln_recipe) r = kiln_recipe_load (f, NULL, &err);
    g_autofree char *stem = g_strndup (f, strlen (f) - strlen (".yaml"));
    g_autofree char *exp_path = g_strconcat (stem, ".expected", NULL);
    g_autofree char *expected = NULL;
    g_autofree char *got = NULL;

    if (!ok (r == NULL && err != NULL, "%s is refused", f))
      continue;
    got = g_strconcat (err->message, "\n", NULL);
    if (regen) {
      g_autoptr (GError) werr = NULL;

      ok (g_file_set_contents (exp_path, got, -1, &werr), "regenerated %s", exp_path);
      continue;
    }
    if (!g_file_get_contents (exp_path, &expected, NULL, NULL)) {
      ok (0, "%s exists (KILN_REGENERATE=1 make check-unit writes it)", exp_path);
      continue;
    }
    is_str (got, expected, "%s: message as in %s", f, exp_path);
    ok (g_str_has_prefix (err->message, BAD_DIR "/"), "%s: message starts with FILE:LINE:COLUMN", f);
  }
}

static const struct kiln_recipe_step *
step (const struct kiln_recipe *r, guint i)
{
  return i < r->steps->len ? r->steps->pdata[i] : NULL;
}

/* Step I's typed parts joined with '|' (the parts themselves may hold ':'). */
static char *
parts_of (const struct kiln_recipe *r, guint i)
{
  const struct kiln_recipe_step *s = step (r, i);

  return s ? g_strjoinv ("|", s->args) : NULL;
}

#define ARGS_ARE(r, i, want, ...) do {                                       \
    g_autofree char *got_ = parts_of (r, i);                                 \
    is_str (got_, want, __VA_ARGS__);                                        \
  } while (0)

#define STEP_IS(r, i, want_op, want_display) do {                            \
    const struct kiln_recipe_step *s_ = step (r, i);                         \
    is_str (s_ ? s_->op : NULL, want_op, "step %d is %s", i + 1, want_op);   \
    is_str (s_ ? s_->display : NULL, want_display, "step %d shows as '%s'", i + 1, want_display); \
  } while (0)

static void
test_full (void)
{
  const char *cli[] = { "WHO=cli", NULL };
  g_autoptr (GError) err = NULL;
  g_autoptr (kiln_recipe) r = NULL;
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *good = g_build_filename (cwd, GOOD_DIR, NULL);
  g_autofree char *want = NULL;
  const struct kiln_recipe_step *s;
  const struct kiln_recipe_network *n;
  const struct kiln_recipe_disk *d;

  g_setenv ("PW", "from-env", TRUE);
  g_setenv ("WHO", "environment", TRUE);
  g_setenv ("MEM", "1536", TRUE);
  r = kiln_recipe_load (GOOD_DIR "/full.yaml", cli, &err);
  if (!ok (r != NULL, "full.yaml loads")) {
    diag (err->message);
    return;
  }
  is_str (r->name, "full", "name");
  is_int (r->files->len, 1, "one file");
  ok (g_str_has_prefix (((struct kiln_recipe_file *) r->files->pdata[0])->digest, "sha256:") &&
      strlen (((struct kiln_recipe_file *) r->files->pdata[0])->digest) == 7 + 64, "file digest is sha256:HEX");
  is_str (r->base_source, "https://example.org/images/debian-12.qcow2", "base source");
  is_str (r->base_checksum, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "checksum");
  ok (r->base_sums == NULL && !r->base_insecure, "no sums, not insecure");
  is_str (r->output_path, "out/full.qcow2", "output path as written");
  is_str (r->output_format, "qcow2", "format");
  is_str (r->output_mode, "overlay", "mode");
  ok (r->output_bytes == 10ULL << 30, "size 10G in bytes");

  is_int (r->steps->len, 23, "23 customize steps");
  want = g_strconcat ("root-password file:", good, "/secrets/root.pw", NULL);
  STEP_IS (r, 0, "root-password", want);
  ARGS_ARE (r, 0, want + strlen ("root-password "), "file: selector made absolute, beside the recipe");
  STEP_IS (r, 1, "password", "password admin:password:<redacted>");
  ARGS_ARE (r, 1, "admin|password:from-env", "a secret variable from the environment reaches the parts (user, selector)");
  STEP_IS (r, 2, "password", "password alice:random");
  STEP_IS (r, 3, "password-crypto", "password-crypto sha512");
  STEP_IS (r, 4, "install", "install nginx,curl");
  STEP_IS (r, 5, "uninstall", "uninstall cloud-init,exim4");
  STEP_IS (r, 6, "update", "update");
  ok (step (r, 6)->args && step (r, 6)->args[0] == NULL, "update has no argument");
  g_free (want);
  want = g_strconcat (good, "/scripts/setup.sh", NULL);
  ARGS_ARE (r, 7, want, "run script beside the recipe");
  ARGS_ARE (r, 8, "echo cli > /etc/who && echo $$HOME ${LITERAL}", "--var wins over env and vars; $${ is a literal ${");
  ARGS_ARE (r, 9, "/etc/motd|hello: world\n", "write mapping to the parts (path, content)");
  g_free (want);
  want = g_strconcat (good, "/files/app.conf|/etc/app.conf", NULL);
  ARGS_ARE (r, 10, want, "upload mapping, local side beside the recipe");
  ARGS_ARE (r, 11, "/srv/data|/srv", "copy-in string form, split as the command line splits it");
  ARGS_ARE (r, 14, "0600|/etc/app.conf", "chmod mapping");
  ARGS_ARE (r, 15, "/usr/bin/python3|/usr/local/bin/python", "link mapping");
  ARGS_ARE (r, 16, "/etc/hosts|10.0.0.1 db", "append-line mapping");
  ARGS_ARE (r, 19, "Europe/Madrid", "timezone");
  g_free (want);
  want = g_strconcat ("root|file|", good, "/keys/id.pub", NULL);
  ARGS_ARE (r, 20, want, "ssh-inject mapping with file");
  ARGS_ARE (r, 21, "admin|string|ssh-ed25519 AAAA test", "ssh-inject string form");
  s = step (r, 22);
  is_str (s ? s->where : NULL, GOOD_DIR "/full.yaml:40:5", "steps know their FILE:LINE:COLUMN");

  ok (r->sysprep && r->sysprep_operations == NULL, "sysprep present, no operations");
  is_str (r->sysprep_enable, "machine-id,ssh-hostkeys", "sysprep enable list");

  is_int (r->networks->len, 2, "two networks");
  n = r->networks->pdata[0];
  is_str (n->name, "dev-network", "network name");
  is_str (n->bridge, "virbr1", "bridge");
  is_str (n->address, "10.11.12.1/24", "address");
  is_str (n->dhcp, "10.11.12.2-10.11.12.128", "dhcp");
  is_str (n->forward, "none", "forward");
  n = r->networks->pdata[1];
  ok (n->bridge == NULL && n->address == NULL && n->forward == NULL, "optional network keys stay NULL");

  ok (r->template, "template present");
  is_str (r->template_name, "full-tpl", "template name");
  is_str (r->os_variant, "debian11", "os-variant");
  is_int (r->memory, 1536, "memory: the environment wins over vars");
  is_int (r->vcpus, 2, "vcpus");
  is_str (r->template_network, "user", "network");
  is_int (r->disks->len, 2, "two disks");
  d = r->disks->pdata[0];
  ok (d->bytes == 2ULL << 30 && g_strcmp0 (d->target, "vdb") == 0, "disk 1: 2G on vdb");
  d = r->disks->pdata[1];
  ok (d->bytes == 512ULL << 20 && d->target == NULL, "disk 2: 512M, target chosen later");
  ok (r->clones && g_strv_length (r->clones) == 3, "three clones");
  is_str (r->clones ? r->clones[2] : NULL, "node-3", "count and prefix give names");
  g_unsetenv ("WHO");
  g_unsetenv ("MEM");
  g_unsetenv ("PW");
  kiln_secret_forget_all ();
}

static void
test_child (void)
{
  const char *cli[] = { "PW=cli-secret", NULL };
  g_autoptr (GError) err = NULL;
  g_autoptr (kiln_recipe) r = NULL;
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *want = g_build_filename (cwd, GOOD_DIR, "images/local.qcow2", NULL);

  r = kiln_recipe_load (GOOD_DIR "/child.yaml", cli, &err);
  if (!ok (r != NULL, "child.yaml (extends full.yaml) loads")) {
    diag (err->message);
    return;
  }
  is_str (r->name, "child", "name overridden");
  is_int (r->files->len, 2, "two files: the child, then what it extends");
  is_str (((struct kiln_recipe_file *) r->files->pdata[1])->path, GOOD_DIR "/full.yaml",
          "extended file's path is relative to the child");
  is_str (r->base_source, want, "./path source resolved beside the recipe");
  ok (r->base_checksum == NULL, "base replaced whole: the parent's checksum is gone");
  is_str (r->output_path, "child.qcow2", "output path overridden");
  ok (r->output_bytes == 10ULL << 30, "output size inherited key by key");
  is_int (r->steps->len, 24, "customize steps appended after the parent's");
  ARGS_ARE (r, 23, "nginx-extras", "the child's step comes last");
  is_str (step (r, 23)->where, GOOD_DIR "/child.yaml:12:5", "and knows its own file");
  ARGS_ARE (r, 1, "admin|password:cli-secret", "--var reaches steps of the parent");
  is_int (r->memory, 4096, "vars merged: the child's value");
  is_str (r->template_name, "child-tpl", "template name overridden");
  is_int (r->vcpus, 2, "template vcpus inherited");
  ok (r->clones && g_strv_length (r->clones) == 2 && strcmp (r->clones[0], "c1") == 0,
      "clones replaced whole (names instead of count)");
}

static void
test_minimal (void)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (kiln_recipe) r = kiln_recipe_load (GOOD_DIR "/minimal.yaml", NULL, &err);

  if (!ok (r != NULL, "minimal.yaml loads")) {
    diag (err->message);
    return;
  }
  is_str (r->base_source, "debian-12", "a bare word stays a template name");
  is_str (r->output_format, "qcow2", "format defaults to qcow2");
  is_str (r->output_mode, "overlay", "mode defaults to overlay");
  ok (!r->sysprep && !r->template && r->clones == NULL && r->steps->len == 0 &&
      r->networks->len == 0, "nothing else");
}

/* Load a recipe written from TEXT in a temporary directory. */
static struct kiln_recipe *
load_text (const char *text, GError **err)
{
  g_autofree char *dir = g_dir_make_tmp ("kiln-test-recipe-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "r.yaml", NULL);
  struct kiln_recipe *r;

  g_file_set_contents (path, text, -1, NULL);
  r = kiln_recipe_load (path, NULL, err);
  unlink (path);
  rmdir (dir);
  return r;
}

/* Sizes follow value.h: a bare number is BYTES, as on the command line. */
static void
test_sizes (void)
{
  static const struct { const char *size; uint64_t bytes; const char *why; } cases[] = {
    { "1048576", 1048576, "a bare number is bytes" },
    { "1073741825", 1073742336, "rounded up to whole 512-byte sectors" },
    { "1T", 1ULL << 40, "1T" },
    { "10GiB", 10ULL << 30, "10GiB" },
    { "10", 0, "10 (bytes) is too small for a disk" },
    { "4096", 0, "4096 bytes are too small for a disk" },
    { "0", 0, "0 refused" },
    { "-1G", 0, "-1G refused" },
    { "99999999999999999999G", 0, "overflow refused" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) err = NULL;
    g_autofree char *out = g_strdup_printf ("recipe: 1\nname: s\nbase: {source: debian-12}\n"
                                            "output: {path: s.qcow2, size: \"%s\"}\n", cases[i].size);
    g_autofree char *disk = g_strdup_printf ("recipe: 1\nname: s\nbase: {source: debian-12}\n"
                                             "output: {path: s.qcow2}\ntemplate: {disks: [{size: \"%s\"}]}\n",
                                             cases[i].size);
    g_autoptr (kiln_recipe) r = load_text (out, &err);
    g_autoptr (kiln_recipe) d = NULL;

    if (cases[i].bytes) {
      ok (r && r->output_bytes == cases[i].bytes, "output.size %s: %s", cases[i].size, cases[i].why);
      g_clear_error (&err);
      d = load_text (disk, &err);
      ok (d && d->disks->len == 1 && ((struct kiln_recipe_disk *) d->disks->pdata[0])->bytes == cases[i].bytes,
          "disks[].size %s: the same meaning", cases[i].size);
    } else {
      ok (r == NULL && err && strstr (err->message, "output.size") != NULL, "output.size %s: %s", cases[i].size, cases[i].why);
      g_clear_error (&err);
      d = load_text (disk, &err);
      ok (d == NULL && err && strstr (err->message, "template.disks[0].size") != NULL,
          "disks[].size %s: refused too", cases[i].size);
    }
  }
  {
    g_autoptr (GError) err = NULL;
    g_autoptr (kiln_recipe) r = load_text ("recipe: 1\nname: s\nbase: {source: debian-12}\n"
                                           "output: {path: s.qcow2, size: 10}\n", &err);

    ok (r == NULL && err && strstr (err->message, "write 10G") != NULL, "a bare 10 meant as GiB: the error says write 10G");
  }
}

/* Template, clone and network names follow value.h's one rule. */
static void
test_names (void)
{
  static const struct { const char *tail; const char *what; } bad[] = {
    { "template: {name: -tpl}\n", "template.name" },
    { "template: {name: a/b}\n", "template.name" },
    { "template: {}\nclones: {names: [ok, \"bad name\"]}\n", "clones" },
    { "template: {}\nclones: {count: 2, prefix: \"x/\"}\n", "clones" },
    { "networks: [{name: \"net work\"}]\n", "networks.name" },
  };
  g_autofree char *long_name = g_strnfill (65, 'a');

  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) err = NULL;
    g_autofree char *text = g_strconcat ("recipe: 1\nname: n\nbase: {source: debian-12}\n"
                                         "output: {path: n.qcow2}\n", bad[i].tail, NULL);
    g_autoptr (kiln_recipe) r = load_text (text, &err);

    ok (r == NULL && err && strstr (err->message, bad[i].what) != NULL, "a bad name is refused, naming %s", bad[i].what);
  }
  {
    g_autoptr (GError) err = NULL;
    g_autofree char *text = g_strdup_printf ("recipe: 1\nname: %s\nbase: {source: debian-12}\n"
                                             "output: {path: n.qcow2}\n", long_name);
    g_autoptr (kiln_recipe) r = load_text (text, &err);

    ok (r == NULL && err && strstr (err->message, "1 to 64") != NULL, "a 65-character name is refused");
  }
}

/* template.connect and template.pool: publish on another host. */
static void
test_remote (void)
{
  static const struct { const char *tail; const char *what; } bad[] = {
    { "template: {connect: \"qemu+ssh://h/system\"}\n", "needs template.pool" },
    { "template: {connect: \"\", pool: p}\n", "template.connect is empty" },
    { "template: {connect: \"qemu+ssh://h/system\", pool: \"a/b\"}\n", "template.pool" },
    { "template: {pool: p, disks: [{size: 1G}]}\n", "template.disks with template.pool" },
    { "template: {connect: \"qemu+ssh://h/system\", pool: p}\ntest: {timeout: 60}\n",
      "test with template.connect" },
  };
  const char *head = "recipe: 1\nname: n\nbase: {source: debian-12}\noutput: {path: n.qcow2}\n";

  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) err = NULL;
    g_autofree char *text = g_strconcat (head, bad[i].tail, NULL);
    g_autoptr (kiln_recipe) r = load_text (text, &err);

    ok (r == NULL && err && strstr (err->message, bad[i].what) != NULL, "refused: %s (%s)",
        bad[i].what, err ? err->message : "loaded");
  }
  {
    g_autoptr (GError) err = NULL;
    g_autofree char *text = g_strconcat (head, "template: {connect: \"qemu+ssh://u@h:22/session\", "
                                         "pool: images, network: none}\nclones: {count: 2, prefix: c}\n",
                                         NULL);
    g_autoptr (kiln_recipe) r = load_text (text, &err);

    ok (r != NULL, "a remote template loads (%s)", err ? err->message : "ok");
    is_str (r ? r->template_connect : NULL, "qemu+ssh://u@h:22/session", "template.connect");
    is_str (r ? r->template_pool : NULL, "images", "template.pool");
  }
  {
    g_autoptr (GError) err = NULL;
    g_autoptr (kiln_recipe) r = load_text (head, &err);

    ok (r && r->template_connect == NULL && r->template_pool == NULL, "both NULL by default");
  }
}

/* Steps reach the operations as typed parts: a path may hold ':'. */
static void
test_typed_steps (void)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (kiln_recipe) r = kiln_recipe_load (GOOD_DIR "/colons.yaml", NULL, &err);
  g_autoptr (kiln_customize) c = kiln_customize_new ();
  bool all = true;

  if (!ok (r != NULL, "colons.yaml loads")) {
    diag (err->message);
    return;
  }
  ARGS_ARE (r, 0, "/etc/a:b.conf|x: y", "write: the path keeps its ':'");
  ARGS_ARE (r, 1, "/etc/a:b.conf|k=v", "append-line: the path keeps its ':'");
  ARGS_ARE (r, 2, "0600|/etc/a:b.conf", "chmod: the path keeps its ':'");
  ARGS_ARE (r, 3, "/usr/bin/a:b|/usr/local/bin/l:1|/usr/local/bin/l:2", "link: a list of links, each with ':'");
  ARGS_ARE (r, 4, "/etc/motd|a:b", "the string form splits at the first ':', as the command line does");
  for (guint i = 0; i < r->steps->len; i++) {
    const struct kiln_recipe_step *s = step (r, i);

    if (kiln_customize_add_args (c, s->row, (const char *const *) s->args, &err) == -1) {
      g_autofree char *m = g_strdup_printf ("%s: %s", s->where, err->message);

      diag (m);
      g_clear_error (&err);
      all = false;
    }
  }
  ok (all, "every typed step is accepted by its operation");
  {
    g_autofree char *d0 = kiln_customize_describe (c, 0);
    g_autofree char *d3 = kiln_customize_describe (c, 3);

    is_str (d0, "--write /etc/a:b.conf (4 bytes)", "the operation got the path whole");
    is_str (d3, "--link /usr/bin/a:b:/usr/local/bin/l:1:/usr/local/bin/l:2", "and the links whole");
  }
}

static double
seconds_since (gint64 t0)
{
  return (g_get_monotonic_time () - t0) / (double) G_USEC_PER_SEC;
}

/* Peak resident memory of this process so far, in KiB. */
static long
peak_kib (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

/* Hostile sizes: refused fast, in little memory, naming file, line and
 * limit.  Run first, so that the peak memory measured is this test's. */
static void
test_limits (void)
{
  g_autoptr (GString) lol = g_string_new ("recipe: 1\nname: lol\nbase: {source: debian-12}\n"
                                          "output: {path: lol.qcow2}\nvars:\n  a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol,lol]\n");
  g_autoptr (GString) keys = g_string_new ("recipe: 1\nname: k\nbase: {source: debian-12}\noutput: {path: k.qcow2}\nvars:\n");
  g_autoptr (GString) fine = g_string_new ("recipe: 1\nname: k\nbase: {source: debian-12}\noutput: {path: k.qcow2}\nvars:\n");
  g_autofree char *deep = NULL;
  g_autofree char *huge = NULL;
  const char prev[] = "abcdefghijkl";

  /* 10^12 strings once expanded, in about 1 KB. */
  for (int i = 1; i < 12; i++) {
    g_string_append_printf (lol, "  %c: &%c [", prev[i], prev[i]);
    for (int j = 0; j < 10; j++)
      g_string_append_printf (lol, "%s*%c", j ? "," : "", prev[i - 1]);
    g_string_append (lol, "]\n");
  }
  ok (lol->len <= 1024, "a billion-laughs recipe of %zu bytes", lol->len);
  {
    g_autoptr (GError) err = NULL;
    long before = peak_kib ();
    gint64 t0 = g_get_monotonic_time ();
    g_autoptr (kiln_recipe) r = load_text (lol->str, &err);
    double took = seconds_since (t0);
    long grew = peak_kib () - before;

    ok (r == NULL && err && strstr (err->message, "/r.yaml:") && strstr (err->message, "100000") &&
        strstr (err->message, "alias"), "is refused, naming the file, the line and the limit");
    if (err)
      diag (err->message);
    ok (took < TIME_BOUND, "in under %.0f s (%.3f s)", TIME_BOUND, took);
    ok (grew < 50 * 1024, "with under 50 MiB more memory (%ld KiB)", grew);
  }

  /* 100000 keys in one mapping (quadratic duplicate detection took
   * minutes): under 1 MiB, refused at the key limit at once. */
  for (int i = 0; i < 100000; i++)
    g_string_append_printf (keys, "  k%x:\n", i);
  ok (keys->len < KILN_RECIPE_MAX_BYTES, "a recipe of 100000 keys in %zu bytes", keys->len);
  {
    g_autoptr (GError) err = NULL;
    gint64 t0 = g_get_monotonic_time ();
    g_autoptr (kiln_recipe) r = load_text (keys->str, &err);
    double took = seconds_since (t0);

    ok (r == NULL && err && strstr (err->message, "10000 keys"), "is refused at the limit of keys");
    ok (took < TIME_BOUND, "in under %.0f s (%.3f s)", TIME_BOUND, took);
  }
  /* Just under the limit: loads, and a duplicate at the end is found in
   * linear time. */
  for (int i = 0; i < KILN_RECIPE_MAX_KEYS - 1; i++)
    g_string_append_printf (fine, "  V%d: x\n", i);
  {
    g_autoptr (GError) err = NULL;
    gint64 t0 = g_get_monotonic_time ();
    g_autoptr (kiln_recipe) r = load_text (fine->str, &err);
    double took = seconds_since (t0);

    ok (r != NULL, "%d variables load", KILN_RECIPE_MAX_KEYS - 1);
    ok (took < TIME_BOUND, "in under %.0f s (%.3f s)", TIME_BOUND, took);
  }
  g_string_append (fine, "  V0: again\n");
  {
    g_autoptr (GError) err = NULL;
    g_autoptr (kiln_recipe) r = load_text (fine->str, &err);

    ok (r == NULL && err && strstr (err->message, "duplicate key 'V0' (first given at line 6)"),
        "a duplicate key among them is found");
  }

  {
    g_autofree char *brackets = g_strnfill (100000, '[');

    deep = g_strconcat ("recipe: 1\nname: d\nbase: {source: debian-12}\noutput: {path: d.qcow2}\nvars:\n  a: ",
                        brackets, NULL);
  }
  {
    g_autoptr (GError) err = NULL;
    g_autoptr (kiln_recipe) r = load_text (deep, &err);

    ok (r == NULL && err && strstr (err->message, ":6:68: ") && strstr (err->message, "64 levels"),
        "100000 nested lists are refused at the 65th, naming the limit");
  }
  huge = g_strnfill (KILN_RECIPE_MAX_BYTES + 10, '#');
  huge[KILN_RECIPE_MAX_BYTES + 9] = '\n';
  {
    g_autoptr (GError) err = NULL;
    g_autoptr (kiln_recipe) r = load_text (huge, &err);

    ok (r == NULL && err && strstr (err->message, "/r.yaml:1:1048577: ") && strstr (err->message, "1 MiB"),
        "a recipe over 1 MiB is refused where it passes the limit");
  }
}

static GPtrArray *warnings;

static void
keep_warning (const struct kiln_event *ev, void *opaque)
{
  if (ev->level == KILN_EVENT_WARNING)
    g_ptr_array_add (warnings, g_strdup (ev->message));
}

/* Secret variables: from the environment, a file or --var (warned), never
 * the recipe; shown nowhere. */
static void
test_secrets (void)
{
  g_autofree char *dir = g_dir_make_tmp ("kiln-test-secrets-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "s.yaml", NULL);
  g_autofree char *pwfile = g_build_filename (dir, "db.pw", NULL);
  const char *cli[] = { "ROOTPW=cli-Secret-3", NULL };
  g_autoptr (GError) err = NULL;
  g_autoptr (kiln_recipe) r = NULL;
  bool leak = false;

  warnings = g_ptr_array_new_with_free_func (g_free);
  kiln_event_set_handler (keep_warning, NULL);
  kiln_secret_forget_all ();
  g_setenv ("KILN_TEST_TOKEN", "tok-Secret-1", TRUE);
  g_file_set_contents (pwfile, "db-Secret-2\nnot this\n", -1, NULL);
  chmod (pwfile, 0600);
  g_file_set_contents (path,
                       "recipe: 1\nname: s\n"
                       "vars:\n"
                       "  KILN_TEST_TOKEN: {secret: true}\n"
                       "  DBPW: {file: db.pw}\n"
                       "  PLAIN: visible-value\n"
                       "base: {source: \"https://u:${KILN_TEST_TOKEN}@example.org/i.qcow2\"}\n"
                       "output: {path: s.qcow2}\n"
                       "customize:\n"
                       "  - run-command: \"curl -H t=${KILN_TEST_TOKEN} ${PLAIN}\"\n"
                       "  - run-command: \"echo ${ROOTPW} is used before it is a password\"\n"
                       "  - firstboot-command: echo ${DBPW} > /root/db\n"
                       "  - ssh-inject: \"root:string:ssh-ed25519 ${KILN_TEST_TOKEN}\"\n"
                       "  - root-password: password:${ROOTPW}\n", -1, NULL);
  r = kiln_recipe_load (path, cli, &err);
  if (!ok (r != NULL, "a recipe with secret variables loads")) {
    diag (err->message);
    goto out;
  }
  ARGS_ARE (r, 0, "curl -H t=tok-Secret-1 visible-value", "the operation gets the environment's secret");
  ARGS_ARE (r, 2, "echo db-Secret-2 > /root/db", "and the first line of the secret file");
  is_str (step (r, 0)->display, "run-command curl -H t=<redacted> visible-value", "the step shows it redacted, plain values as they are");
  is_str (step (r, 1)->display, "run-command echo <redacted> is used before it is a password",
          "a variable named by a later password:${} is a secret in earlier steps too");
  is_str (step (r, 2)->display, "firstboot-command echo <redacted> > /root/db", "a file variable is a secret");
  is_str (step (r, 3)->display, "ssh-inject root:string:ssh-ed25519 <redacted>", "in every operation");
  is_str (step (r, 4)->display, "root-password password:<redacted>", "and the password itself");
  for (guint i = 0; i < r->steps->len; i++)
    leak |= strstr (step (r, i)->display, "Secret") != NULL;
  ok (!leak, "no step display holds a secret");
  {
    g_autofree char *shown = kiln_secret_redact (r->base_source);

    is_str (shown, "https://u:<redacted>@example.org/i.qcow2", "any text kiln writes is redacted (the base URL)");
    ok (kiln_secret_in ("x cli-Secret-3 y") && !kiln_secret_in ("visible-value"),
        "the --var secret is registered, the plain value is not");
  }
  ok (warnings->len == 1 && strstr (warnings->pdata[0], "--var ROOTPW") &&
      strstr (warnings->pdata[0], "cli-Secret") == NULL,
      "a secret given with --var is warned about (ps shows it), without its value");
  {
    bool seen = false;

    for (guint i = 0; i < r->reads->len; i++) {
      const struct kiln_recipe_read *rd = r->reads->pdata[i];

      seen |= strcmp (rd->path, pwfile) == 0 && strstr (rd->where, "s.yaml:5:") != NULL;
    }
    ok (seen, "the secret file is listed among the host files the recipe reads");
  }
 out:
  g_unsetenv ("KILN_TEST_TOKEN");
  kiln_secret_forget_all ();
  kiln_event_set_handler (NULL, NULL);
  g_ptr_array_unref (warnings);
  unlink (pwfile);
  unlink (path);
  rmdir (dir);
}

/* Recipes are code: every host file they read is listed. */
static void
test_reads (void)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (kiln_recipe) r = NULL;
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *good = g_build_filename (cwd, GOOD_DIR, NULL);
  g_autoptr (GString) got = g_string_new (NULL);
  g_autofree char *want = NULL;

  g_setenv ("PW", "x", TRUE);
  r = kiln_recipe_load (GOOD_DIR "/full.yaml", NULL, &err);
  g_unsetenv ("PW");
  kiln_secret_forget_all ();
  if (!ok (r != NULL, "full.yaml loads")) {
    diag (err->message);
    return;
  }
  for (guint i = 0; i < r->reads->len; i++) {
    const struct kiln_recipe_read *rd = r->reads->pdata[i];
    g_autofree char *rel = g_str_has_prefix (rd->path, good) ? g_strdup (rd->path + strlen (good) + 1)
                                                               : g_strdup (rd->path);

    g_string_append_printf (got, "%s (%s, %s)\n", rel, rd->what, rd->where);
  }
  want = g_strdup_printf ("secrets/root.pw (password file, %s/full.yaml:18:20)\n"
                          "scripts/setup.sh (run, %s/full.yaml:25:10)\n"
                          "files/app.conf (upload, %s/full.yaml:28:13)\n"
                          "/srv/data (copy-in, %s/full.yaml:29:14)\n"
                          "keys/id.pub (ssh-inject key, %s/full.yaml:38:17)\n",
                          GOOD_DIR, GOOD_DIR, GOOD_DIR, GOOD_DIR, GOOD_DIR);
  is_str (got->str, want, "run, upload, copy-in, file: and ssh-inject file: are listed, with where they are named");
}

static void
test_misc (void)
{
  const char *bad_var[] = { "1X=a", NULL };
  g_autoptr (GError) err = NULL;
  g_autoptr (kiln_recipe) r = NULL;

  ok (kiln_recipe_var_valid ("A_1=x=y"), "NAME=VALUE accepted");
  ok (!kiln_recipe_var_valid ("A"), "no = refused");
  ok (!kiln_recipe_var_valid ("=x"), "empty name refused");
  r = kiln_recipe_load (GOOD_DIR "/minimal.yaml", bad_var, &err);
  ok (r == NULL && err && strstr (err->message, "--var 1X=a") != NULL, "bad --var refused");
  g_clear_error (&err);
  r = kiln_recipe_load (GOOD_DIR "/no-such.yaml", NULL, &err);
  ok (r == NULL && err && strstr (err->message, "no-such.yaml") != NULL, "missing file named");
}

/* test: the boot check's section. */
static void
test_test_section (void)
{
  g_autoptr (GError) err = NULL;
  const char *head = "recipe: 1\nname: s\nbase: {source: debian-12}\noutput: {path: s.qcow2}\ntemplate: {}\n";
  g_autofree char *dir = g_dir_make_tmp ("kiln-test-recipe-XXXXXX", NULL);
  g_autofree char *pwf = g_build_filename (dir, "pw", NULL);
  g_autofree char *text = NULL;
  g_autofree char *path = g_build_filename (dir, "r.yaml", NULL);

  {
    g_autofree char *t = g_strconcat (head, "test:\n", NULL);
    g_autoptr (kiln_recipe) r = load_text (t, &err);

    ok (r && r->test && r->test_timeout == KILN_RECIPE_TEST_DEFAULT_TIMEOUT && r->test_user == NULL &&
        r->test_checks->len == 0, "test: alone: a boot to the login prompt, default timeout");
    g_clear_error (&err);
  }
  {
    g_autoptr (kiln_recipe) r = load_text (head, &err);

    ok (r && !r->test, "no test section: no boot check");
  }
  g_file_set_contents (pwf, "s3cret\n", -1, NULL);
  text = g_strconcat (head, "test:\n  timeout: 120\n  user: root\n  password: file:pw\n  commands:\n"
                      "    - run: hostname\n      expect: s\n"
                      "    - run: cat /etc/os-release\n      match: '^VERSION_ID=\"12\"$'\n", NULL);
  g_file_set_contents (path, text, -1, NULL);
  {
    g_autoptr (kiln_recipe) r = kiln_recipe_load (path, NULL, &err);
    const struct kiln_recipe_check *c0 = r ? r->test_checks->pdata[0] : NULL;
    const struct kiln_recipe_check *c1 = r && r->test_checks->len > 1 ? r->test_checks->pdata[1] : NULL;
    g_autofree char *want = g_strconcat ("file:", pwf, NULL);
    bool read = false;

    if (!ok (r != NULL, "a full test section loads"))
      diag (err->message);
    ok (r && r->test_timeout == 120 && g_strcmp0 (r->test_user, "root") == 0, "timeout and user");
    ok (r && g_strcmp0 (r->test_password, want) == 0, "the password file made relative to the recipe");
    for (guint i = 0; r && i < r->reads->len; i++)
      read |= strcmp (((struct kiln_recipe_read *) r->reads->pdata[i])->path, pwf) == 0;
    ok (read, "and listed among the host files the recipe reads");
    ok (c0 && strcmp (c0->run, "hostname") == 0 && strcmp (c0->expect, "s") == 0 && !c0->regex,
        "expect: an exact value");
    ok (c1 && c1->regex && strcmp (c1->expect, "^VERSION_ID=\"12\"$") == 0, "match: a regex");
  }
  g_clear_error (&err);
  {
    g_autofree char *t = g_strconcat (head, "test:\n  timeout: 15m\n", NULL);
    g_autoptr (kiln_recipe) r = load_text (t, &err);

    ok (r && r->test_timeout == 900, "test: timeout: 15m is 900 s");
  }
  g_clear_error (&err);
  {
    g_autofree char *t = g_strconcat (head, "test:\n  timeout: 2d\n", NULL);
    g_autoptr (kiln_recipe) r = load_text (t, &err);

    ok (r == NULL && err && strstr (err->message, "timeout '2d': give a time from 10 s to 24 h") != NULL,
        "test: timeout: 2d refused, naming the range");
  }
  g_clear_error (&err);
  {
    g_autofree char *t = g_strconcat (head, "test:\n  user: root\n  commands:\n    - {run: x, match: '(unclosed'}\n", NULL);
    g_autoptr (kiln_recipe) r = load_text (t, &err);

    ok (r == NULL && err && strstr (err->message, "test: match: ") != NULL, "a bad regex refused at load");
  }
  g_clear_error (&err);
  {
    g_autofree char *t = g_strconcat (head, "vars:\n  PW: {secret: true}\ntest:\n  user: root\n  password: password:${PW}\n", NULL);
    g_autoptr (kiln_recipe) r = NULL;

    g_setenv ("PW", "from-env-pw", TRUE);
    r = load_text (t, &err);
    ok (r && g_strcmp0 (r->test_password, "password:from-env-pw") == 0 && kiln_secret_in ("x from-env-pw"),
        "password:${VAR}: from the environment, registered as a secret");
    g_unsetenv ("PW");
  }
  g_clear_error (&err);
  {
    GString *t = g_string_new (head);
    g_autoptr (kiln_recipe) r = NULL;

    g_string_append (t, "test:\n  user: root\n  commands:\n");
    for (int i = 0; i <= KILN_RECIPE_MAX_CHECKS; i++)
      g_string_append (t, "    - {run: true, expect: ''}\n");
    r = load_text (t->str, &err);
    ok (r == NULL && err && strstr (err->message, "more than 100 commands") != NULL, "at most %d commands",
        KILN_RECIPE_MAX_CHECKS);
    g_string_free (t, TRUE);
  }
  unlink (pwf);
  unlink (path);
  rmdir (dir);
}

static void
test_examples (void)
{
  g_autoptr (GPtrArray) files = yaml_files ("recipes");
  g_autofree char *scd = NULL;
  g_autofree char *base = NULL;
  g_autofree char *block = NULL;

  ok (files->len >= 3, "recipes/ has %u examples", files->len);
  for (guint i = 0; i < files->len; i++) {
    g_autoptr (GError) err = NULL;
    g_autoptr (kiln_recipe) r = kiln_recipe_load (files->pdata[i], NULL, &err);

    if (!ok (r != NULL, "%s loads", (char *) files->pdata[i]))
      diag (err->message);
  }
  ok (g_file_get_contents ("docs/kiln-recipe.5.scd", &scd, NULL, NULL), "kiln-recipe.5.scd exists");
  ok (g_file_get_contents ("recipes/debian-12-base.yaml", &base, NULL, NULL), "debian-12-base.yaml exists");
  if (scd && base) {
    /* scdoc interprets a backslash even in literal blocks. */
    ok (strchr (base, '\\') == NULL, "the example has no backslash scdoc would eat");
    block = g_strconcat ("```\n", base, "```\n", NULL);
    ok (strstr (scd, block) != NULL, "kiln-recipe(5) holds recipes/debian-12-base.yaml verbatim");
  }
}

int
main (void)
{
  test_limits ();
  test_bad_corpus ();
  test_full ();
  test_child ();
  test_minimal ();
  test_sizes ();
  test_names ();
  test_remote ();
  test_typed_steps ();
  test_misc ();
  test_secrets ();
  test_reads ();
  test_test_section ();
  test_examples ();
  return done_testing ();
}
