/* test-recipe.c: the recipe parser (lib/recipe.c).  Malformed recipes in
 * tests/recipes/bad/ must fail with the message in the .expected file
 * beside each (golden files: KILN_REGENERATE=1 make check-unit rewrites
 * them); good ones must give the expected structure; every example in
 * recipes/ must load; kiln-recipe(5) must hold debian-12-base.yaml. */
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "tap.h"
#include "recipe.h"

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

  g_unsetenv ("PW");
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
  is_str (step (r, 0)->arg, want + strlen ("root-password "), "file: selector made absolute, beside the recipe");
  STEP_IS (r, 1, "password", "password admin:password:<redacted>");
  is_str (step (r, 1)->arg, "admin:password:from-vars", "password from vars reaches the argument");
  STEP_IS (r, 2, "password", "password alice:random");
  STEP_IS (r, 3, "password-crypto", "password-crypto sha512");
  STEP_IS (r, 4, "install", "install nginx,curl");
  STEP_IS (r, 5, "uninstall", "uninstall cloud-init,exim4");
  STEP_IS (r, 6, "update", "update");
  is_str (step (r, 6)->arg, NULL, "update has no argument");
  g_free (want);
  want = g_strconcat (good, "/scripts/setup.sh", NULL);
  is_str (step (r, 7)->arg, want, "run script beside the recipe");
  is_str (step (r, 8)->arg, "echo cli > /etc/who && echo $$HOME ${LITERAL}", "--var wins over env and vars; $${ is a literal ${");
  is_str (step (r, 9)->arg, "/etc/motd:hello: world\n", "write mapping to PATH:CONTENT");
  g_free (want);
  want = g_strconcat (good, "/files/app.conf:/etc/app.conf", NULL);
  is_str (step (r, 10)->arg, want, "upload mapping, local side beside the recipe");
  is_str (step (r, 11)->arg, "/srv/data:/srv", "copy-in string form");
  is_str (step (r, 14)->arg, "0600:/etc/app.conf", "chmod mapping");
  is_str (step (r, 15)->arg, "/usr/bin/python3:/usr/local/bin/python", "link mapping");
  is_str (step (r, 16)->arg, "/etc/hosts:10.0.0.1 db", "append-line mapping");
  is_str (step (r, 19)->arg, "Europe/Madrid", "timezone");
  g_free (want);
  want = g_strconcat ("root:file:", good, "/keys/id.pub", NULL);
  is_str (step (r, 20)->arg, want, "ssh-inject mapping with file");
  is_str (step (r, 21)->arg, "admin:string:ssh-ed25519 AAAA test", "ssh-inject string form");
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
  is_str (step (r, 23)->arg, "nginx-extras", "the child's step comes last");
  is_str (step (r, 23)->where, GOOD_DIR "/child.yaml:12:5", "and knows its own file");
  is_str (step (r, 1)->arg, "admin:password:cli-secret", "--var reaches steps of the parent");
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

static void
test_misc (void)
{
  uint64_t b = 0;
  const char *bad_var[] = { "1X=a", NULL };
  g_autoptr (GError) err = NULL;
  g_autoptr (kiln_recipe) r = NULL;

  ok (kiln_recipe_parse_size ("4096", &b) && b == 4096, "size in bytes");
  ok (kiln_recipe_parse_size ("1T", &b) && b == 1ULL << 40, "size 1T");
  ok (!kiln_recipe_parse_size ("10GB", &b), "10GB refused");
  ok (!kiln_recipe_parse_size ("0", &b), "0 refused");
  ok (!kiln_recipe_parse_size ("-1G", &b), "-1G refused");
  ok (!kiln_recipe_parse_size ("99999999999999999999G", &b), "overflow refused");
  ok (kiln_recipe_var_valid ("A_1=x=y"), "NAME=VALUE accepted");
  ok (!kiln_recipe_var_valid ("A"), "no = refused");
  ok (!kiln_recipe_var_valid ("=x"), "empty name refused");
  r = kiln_recipe_load (GOOD_DIR "/minimal.yaml", bad_var, &err);
  ok (r == NULL && err && strstr (err->message, "--var 1X=a") != NULL, "bad --var refused");
  g_clear_error (&err);
  r = kiln_recipe_load (GOOD_DIR "/no-such.yaml", NULL, &err);
  ok (r == NULL && err && strstr (err->message, "no-such.yaml") != NULL, "missing file named");
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
  test_bad_corpus ();
  test_full ();
  test_child ();
  test_minimal ();
  test_misc ();
  test_examples ();
  return done_testing ();
}
