/* build.c: kiln build RECIPE..., the whole pipeline from recipes: every
 * recipe is loaded and checked first, then each distinct base is fetched
 * once, then up to --jobs images are built at once (overlay, customize and
 * sysprep in one launch), each with a manifest beside it, then networks,
 * template and clones are registered.  --dry-run prints the plan and
 * touches nothing. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kiln.h"
#include "build.h"
#include "customize.h"
#include "digest.h"
#include "event.h"
#include "fault.h"
#include "fetch.h"
#include "fileio.h"
#include "image.h"
#include "json.h"
#include "msg.h"
#include "opts.h"
#include "password.h"
#include "recipe.h"
#include "sbom.h"
#include "secret.h"
#include "value.h"
#include "version.h"
#include "writable.h"
#include "sysprep.h"

enum { OPT_VAR = 1, OPT_DRY_RUN, OPT_JOBS, OPT_KEEP_GOING, OPT_FORCE, OPT_UNSAFE_WRITE,
       OPT_NO_SBOM, OPT_MAX_SIZE };

const struct kiln_option kiln_build_options[] = {
  { "var", 0, KILN_ARG_REQUIRED, "NAME=VALUE", "set a recipe variable (wins over the environment and the recipe's vars)", OPT_VAR },
  { "dry-run", 'n', KILN_ARG_NONE, NULL, "print the plan; fetch, write and define nothing", OPT_DRY_RUN },
  { "jobs", 'j', KILN_ARG_REQUIRED, "N", "build up to N recipes at once (default 1)", OPT_JOBS },
  { "keep-going", 0, KILN_ARG_NONE, NULL, "when a build fails, finish the others", OPT_KEEP_GOING },
  { "force", 0, KILN_ARG_NONE, NULL, "replace outputs that exist", OPT_FORCE },
  { "unsafe-write-template", 0, KILN_ARG_NONE, NULL, "with --force, replace outputs even if linked clones are backed by them or running domains use them (corrupts them)", OPT_UNSAFE_WRITE },
  { "no-sbom", 0, KILN_ARG_NONE, NULL, "write no SBOM (OUTPUT.spdx.json) and list no packages", OPT_NO_SBOM },
  { "max-size", 0, KILN_ARG_REQUIRED, "SIZE", "refuse a base whose download or unpacked image is larger than SIZE (default: the index's size, else 64G)", OPT_MAX_SIZE },
  KILN_OPTION_END
};

/* Recipes with the same base (source and how it is verified) share one
 * fetch. */
struct base_group {
  char *key;
  const struct kiln_recipe *first;    /* its base section is the group's */
  GPtrArray *users;                   /* struct job * */
  struct kiln_fetch_result fr;
  bool ok;
  GError *error;
  double seconds;
};

enum job_state { JOB_PENDING, JOB_DONE, JOB_FAILED, JOB_SKIPPED };

struct job {
  struct kiln_recipe *r;
  char *output;                       /* absolute */
  char *manifest;                     /* OUTPUT.json */
  bool exists;                        /* output there before we started */
  struct base_group *base;
  struct kiln_customize *custom;
  struct kiln_sysprep_sel *sel;
  enum job_state state;
  GError *error;
};

struct run {
  const struct kiln_ctx *ctx;
  GPtrArray *jobs;                    /* struct job * */
  GPtrArray *groups;                  /* struct base_group * */
  bool force, keep_going;
  bool no_sbom;                       /* --no-sbom */
  uint64_t max_size;                  /* --max-size, 0: the default */
  GMutex lock;
  bool stop;                          /* a build failed without --keep-going */
};

static void
job_free (gpointer p)
{
  struct job *j = p;

  kiln_recipe_free (j->r);
  g_free (j->output);
  g_free (j->manifest);
  kiln_customize_free (j->custom);
  kiln_sysprep_sel_free (j->sel);
  g_clear_error (&j->error);
  g_free (j);
}

static void
group_free (gpointer p)
{
  struct base_group *b = p;

  g_free (b->key);
  g_ptr_array_unref (b->users);
  kiln_fetch_result_clear (&b->fr);
  g_clear_error (&b->error);
  g_free (b);
}

static char *
base_key (const struct kiln_recipe *r)
{
  return g_strdup_printf ("%s\n%s\n%s\n%d", r->base_source, r->base_sums ? r->base_sums : "",
                          r->base_checksum ? r->base_checksum : "", r->base_insecure);
}

/* How the base will be checked, in words, for the plan (the manifest
 * says what the fetch did: kiln_fetch_result.verification). */
static char *
verify_text (const struct kiln_recipe *r)
{
  const char *s = r->base_source;

  if (r->base_checksum)
    return g_strdup_printf ("checked against %s, given in the recipe", r->base_checksum);
  if (r->base_sums && g_str_has_prefix (r->base_sums, "http://"))
    return g_strdup (r->base_insecure
                     ? "NOT verified (insecure: true): the checksums come over plain http://, and "
                       "whoever could change the image could change them too"
                     : "refused: checksums over plain http:// verify nothing; use https://, a "
                       "checksum:, or insecure: true");
  if (r->base_sums)
    return g_strdup_printf ("checked against the checksums in %s", r->base_sums);
  if (g_str_has_prefix (s, "https://"))
    return g_strdup ("not checked against any checksum: over https, which authenticates the server, not the image");
  if (g_str_has_prefix (s, "http://"))
    return g_strdup (r->base_insecure ? "NOT verified (insecure: true)" : "refused: http:// without sums or checksum needs insecure: true");
  if (g_str_has_prefix (s, "file://") || g_path_is_absolute (s))
    return g_strdup ("not checked against any checksum: a local file, trusted as it is");
  return g_strdup ("checked against its repository's index, which must be signed, local or "
                   "fetched over https (a plain http:// unsigned one needs insecure: true)");
}

/* ------------------------------------------------------------ events */

/* One line per stage event: JSON Lines with --json, else kiln_info. */
static void G_GNUC_PRINTF (5, 6)
emit (struct run *run, const struct job *j, const char *stage, const char *event,
      const char *fmt, ...)
{
  g_autofree char *msg = NULL;
  va_list ap;

  if (fmt) {
    va_start (ap, fmt);
    msg = g_strdup_vprintf (fmt, ap);
    va_end (ap);
  }
  g_mutex_lock (&run->lock);
  if (run->ctx->json) {
    g_autoptr (JsonBuilder) b = json_builder_new ();
    g_autoptr (JsonGenerator) gen = json_generator_new ();
    g_autoptr (JsonNode) root = NULL;
    g_autofree char *text = NULL;

    json_builder_begin_object (b);
    kiln_json_add_string (b, "recipe", j ? j->r->path : NULL);
    kiln_json_add_string (b, "stage", stage);
    kiln_json_add_string (b, "event", event);
    json_builder_set_member_name (b, "elapsed_ms");
    json_builder_add_int_value (b, (gint64) (kiln_elapsed () * 1000 + 0.5));
    kiln_json_add_string (b, "message", msg);
    json_builder_end_object (b);
    root = json_builder_get_root (b);
    kiln_secret_redact_json (root);
    json_generator_set_root (gen, root);
    text = json_generator_to_data (gen, NULL);
    printf ("%s\n", text);
    fflush (stdout);
  } else if (strcmp (event, "error") == 0) {
    kiln_error ("%s%s%s", j ? j->r->path : "", j ? ": " : "", msg ? msg : stage);
  } else if (msg) {
    kiln_info ("%s%s%s", j ? j->r->name : "", j ? ": " : "", msg);
  }
  g_mutex_unlock (&run->lock);
}

static void
add_ms (JsonBuilder *b, const char *member, double seconds)
{
  json_builder_set_member_name (b, member);
  json_builder_add_int_value (b, (gint64) (seconds * 1000 + 0.5));
}

/* "test": the recipe's boot check and how it went (REP; NULL: not run
 * yet, or no test section: null). */
static void
add_test (JsonBuilder *b, const struct kiln_recipe *r, const struct kiln_build_test_report *rep)
{
  json_builder_set_member_name (b, "test");
  if (!r->test) {
    json_builder_add_null_value (b);
    return;
  }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "timeout_seconds");
  json_builder_add_int_value (b, r->test_timeout);
  kiln_json_add_string (b, "user", r->test_user);
  if (rep) {
    kiln_json_add_string (b, "clone", rep->clone);
    json_builder_set_member_name (b, "up");
    json_builder_add_boolean_value (b, rep->up);
    kiln_json_add_string (b, "up_by", rep->how);
    add_ms (b, "boot_milliseconds", rep->boot_seconds);
    json_builder_set_member_name (b, "pass");
    json_builder_add_boolean_value (b, rep->pass);
  }
  json_builder_set_member_name (b, "commands");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->test_checks->len; i++) {
    const struct kiln_recipe_check *c = r->test_checks->pdata[i];
    const struct kiln_build_test_check *rc = rep && rep->checks && i < rep->checks->len
                                             ? rep->checks->pdata[i] : NULL;

    json_builder_begin_object (b);
    kiln_json_add_string (b, "run", c->run);
    kiln_json_add_string (b, c->regex ? "match" : "expect", c->expect);
    kiln_json_add_string (b, "where", c->where);
    if (rc && rc->got) {
      kiln_json_add_string (b, "got", rc->got);
      json_builder_set_member_name (b, "status");
      json_builder_add_int_value (b, rc->status);
      json_builder_set_member_name (b, "pass");
      json_builder_add_boolean_value (b, rc->pass);
    }
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

/* ------------------------------------------------------------ the plan */

/* The plan of J as text, appended to O; the caller redacts it. */
static void
plan_text (GString *o, const struct run *run, const struct job *j)
{
  const struct kiln_recipe *r = j->r;
  g_autofree char *verify = verify_text (r);
  int n = 1;

  g_string_append_printf (o, "%s: %s\n", r->path, r->name);
  for (guint i = 0; i < r->files->len; i++) {
    const struct kiln_recipe_file *f = r->files->pdata[i];

    g_string_append_printf (o, "  %-10s %s (%s)\n", i == 0 ? "recipe" : "extends", f->path, f->digest);
  }
  /* Recipes are code: what they read of the host, with the caller's rights. */
  for (guint i = 0; i < r->reads->len; i++) {
    const struct kiln_recipe_read *rd = r->reads->pdata[i];

    g_string_append_printf (o, "  %-10s %s (%s, %s)\n", "reads", rd->path, rd->what, rd->where);
  }
  g_string_append_printf (o, "  %d. fetch      %s\n", n++, r->base_source);
  g_string_append_printf (o, "                %s\n", verify);
  if (j->base->users->len > 1) {
    g_string_append_printf (o, "                fetched once for:");
    for (guint i = 0; i < j->base->users->len; i++)
      g_string_append_printf (o, " %s", ((struct job *) j->base->users->pdata[i])->r->path);
    g_string_append_printf (o, "\n");
  }
  g_string_append_printf (o, "  %d. %-10s %s (%s%s%s%s)%s\n", n++, r->output_mode, j->output, r->output_format,
          strcmp (r->output_mode, "overlay") == 0 ? ", backed by the cached base" : ", standalone",
          r->output_size ? ", size " : "", r->output_size ? r->output_size : "",
          j->exists ? (run->force ? "  [exists: replaced, --force]" : "  [exists: refused without --force]") : "");
  if (r->steps->len || r->sysprep)
    g_string_append_printf (o, "  %d. guest      one appliance launch:\n", n++);
  for (guint i = 0; i < r->steps->len; i++) {
    const struct kiln_recipe_step *s = r->steps->pdata[i];

    g_string_append_printf (o, "       customize %s\n", s->display);
  }
  if (r->sysprep)
    g_string_append_printf (o, "       sysprep   %s%s\n", r->sysprep_enable ? "exactly " : "",
            r->sysprep_enable ? r->sysprep_enable : r->sysprep_operations ? r->sysprep_operations : "defaults");
  g_string_append_printf (o, "  %d. manifest   %s\n", n++, j->manifest);
  for (guint i = 0; i < r->networks->len; i++) {
    const struct kiln_recipe_network *net = r->networks->pdata[i];

    g_string_append_printf (o, "  %d. network    %s, defined if absent (bridge %s, address %s, dhcp %s, forward %s)\n", n++,
            net->name, net->bridge ? net->bridge : "auto", net->address ? net->address : "none",
            net->dhcp ? net->dhcp : "none", net->forward ? net->forward : "none");
  }
  if (r->template) {
    g_autofree char *mem = r->memory ? g_strdup_printf ("%d MiB", r->memory) : g_strdup ("from osinfo");
    g_autofree char *cpus = r->vcpus ? g_strdup_printf ("%d", r->vcpus) : g_strdup ("from osinfo");

    g_string_append_printf (o, "  %d. register   template %s (os-variant %s, memory %s, vcpus %s, network %s)\n", n++,
            r->template_name, r->os_variant, mem, cpus, r->template_network);
    if (r->template_pool)
      g_string_append_printf (o, "                uploaded into pool %s on %s\n", r->template_pool,
                              r->template_connect ? r->template_connect : "kiln's connection");
    for (guint i = 0; i < r->disks->len; i++) {
      const struct kiln_recipe_disk *d = r->disks->pdata[i];

      g_string_append_printf (o, "                extra disk %s on %s\n", d->size, d->target ? d->target : "the next free target");
    }
  }
  if (r->clones) {
    g_autofree char *names = g_strjoinv (", ", r->clones);

    g_string_append_printf (o, "  %d. clone      %s\n", n++, names);
  }
  if (r->test) {
    g_autofree char *pw = r->test_password ? kiln_password_selector_shown (r->test_password) : NULL;

    g_string_append_printf (o, "  %d. test       boot a throwaway linked clone of %s, up within %u s "
                            "(login prompt, guest agent or DHCP lease); then removed\n",
                            n++, r->template_name, r->test_timeout);
    if (r->test_user)
      g_string_append_printf (o, "                log in on its serial console as %s%s%s\n", r->test_user,
                              pw ? ", password " : " (no password)", pw ? pw : "");
    for (guint i = 0; i < r->test_checks->len; i++) {
      const struct kiln_recipe_check *c = r->test_checks->pdata[i];

      g_string_append_printf (o, "                run `%s`, %s '%s'\n", c->run,
                              c->regex ? "output matching" : "expecting", c->expect);
    }
    g_string_append_printf (o, "                a failing check fails the build: nothing is published\n");
  }
}

/* "files": the recipe and what it includes, with their digests (paths
 * made absolute for a manifest, as given for a plan). */
static void
add_files (JsonBuilder *b, const struct kiln_recipe *r, bool absolute)
{
  json_builder_set_member_name (b, "files");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->files->len; i++) {
    const struct kiln_recipe_file *f = r->files->pdata[i];
    g_autofree char *abs = absolute ? g_canonicalize_filename (f->path, NULL) : NULL;

    json_builder_begin_object (b);
    kiln_json_add_string (b, "path", absolute ? abs : f->path);
    kiln_json_add_string (b, "digest", f->digest);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}

/* "customize": the steps as displayed (passwords are redacted there). */
static void
add_steps (JsonBuilder *b, const struct kiln_recipe *r)
{
  json_builder_set_member_name (b, "customize");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->steps->len; i++) {
    const struct kiln_recipe_step *s = r->steps->pdata[i];

    json_builder_begin_object (b);
    kiln_json_add_string (b, "operation", s->op);
    kiln_json_add_string (b, "step", s->display);
    kiln_json_add_string (b, "where", s->where);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}

/* "output": opens the object with what the recipe says of the image; the
 * caller adds what it knows besides and ends the object. */
static void
begin_output (JsonBuilder *b, const struct job *j)
{
  const struct kiln_recipe *r = j->r;

  json_builder_set_member_name (b, "output");
  json_builder_begin_object (b);
  kiln_json_add_strings (b, "path", j->output, "format", r->output_format,
                         "mode", r->output_mode, "size", r->output_size, NULL);
}

/* "sysprep": null when the recipe runs none; without operations or enable,
 * "operations" is DEFAULTS (the manifest says "defaults", the plan null). */
static void
add_sysprep (JsonBuilder *b, const struct kiln_recipe *r, const char *defaults)
{
  json_builder_set_member_name (b, "sysprep");
  if (r->sysprep) {
    json_builder_begin_object (b);
    kiln_json_add_string (b, "operations", r->sysprep_operations ? r->sysprep_operations
                                           : r->sysprep_enable ? NULL : defaults);
    kiln_json_add_string (b, "enable", r->sysprep_enable);
    json_builder_end_object (b);
  } else {
    json_builder_add_null_value (b);
  }
}

static void
plan_json (JsonBuilder *b, const struct run *run, const struct job *j)
{
  const struct kiln_recipe *r = j->r;
  g_autofree char *verify = verify_text (r);

  json_builder_begin_object (b);
  kiln_json_add_string (b, "recipe", r->path);
  kiln_json_add_string (b, "name", r->name);
  add_files (b, r, false);
  json_builder_set_member_name (b, "host_files");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->reads->len; i++) {
    const struct kiln_recipe_read *rd = r->reads->pdata[i];

    json_builder_begin_object (b);
    kiln_json_add_strings (b, "path", rd->path, "use", rd->what, "where", rd->where, NULL);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "fetch");
  json_builder_begin_object (b);
  kiln_json_add_string (b, "source", r->base_source);
  kiln_json_add_string (b, "sums", r->base_sums);
  kiln_json_add_string (b, "checksum", r->base_checksum);
  kiln_json_add_string (b, "verify", verify);
  json_builder_set_member_name (b, "shared_with");
  json_builder_begin_array (b);
  for (guint i = 0; i < j->base->users->len; i++) {
    const struct job *o = j->base->users->pdata[i];

    if (o != j)
      json_builder_add_string_value (b, o->r->path);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
  begin_output (b, j);
  json_builder_set_member_name (b, "exists");
  json_builder_add_boolean_value (b, j->exists);
  json_builder_end_object (b);
  add_steps (b, r);
  add_sysprep (b, r, NULL);
  kiln_json_add_string (b, "manifest", j->manifest);
  json_builder_set_member_name (b, "networks");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->networks->len; i++) {
    const struct kiln_recipe_network *net = r->networks->pdata[i];

    json_builder_begin_object (b);
    kiln_json_add_string (b, "name", net->name);
    kiln_json_add_string (b, "bridge", net->bridge);
    kiln_json_add_string (b, "address", net->address);
    kiln_json_add_string (b, "dhcp", net->dhcp);
    kiln_json_add_string (b, "forward", net->forward);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "template");
  if (r->template) {
    json_builder_begin_object (b);
    kiln_json_add_string (b, "name", r->template_name);
    kiln_json_add_string (b, "os_variant", r->os_variant);
    json_builder_set_member_name (b, "memory");
    json_builder_add_int_value (b, r->memory);
    json_builder_set_member_name (b, "vcpus");
    json_builder_add_int_value (b, r->vcpus);
    kiln_json_add_string (b, "network", r->template_network);
    kiln_json_add_string (b, "connect", r->template_connect);
    kiln_json_add_string (b, "pool", r->template_pool);
    json_builder_set_member_name (b, "disks");
    json_builder_begin_array (b);
    for (guint i = 0; i < r->disks->len; i++) {
      const struct kiln_recipe_disk *d = r->disks->pdata[i];

      json_builder_begin_object (b);
      kiln_json_add_string (b, "size", d->size);
      kiln_json_add_string (b, "target", d->target);
      json_builder_end_object (b);
    }
    json_builder_end_array (b);
    json_builder_end_object (b);
  } else {
    json_builder_add_null_value (b);
  }
  json_builder_set_member_name (b, "clones");
  json_builder_begin_array (b);
  for (char **c = r->clones; c && *c; c++)
    json_builder_add_string_value (b, *c);
  json_builder_end_array (b);
  add_test (b, r, NULL);
  json_builder_end_object (b);
}

/* ------------------------------------------------------------ manifest */


struct timings {
  GDateTime *start, *end;
  double fetch, image, manifest;
};

static char *
manifest_text (const struct job *j, const struct kiln_image_result *res,
               const char *passwords, const char *sbom, const struct timings *t,
               const struct kiln_build_test_report *rep)
{
  const struct kiln_recipe *r = j->r;
  const struct kiln_fetch_result *fr = &j->base->fr;
  const struct kiln_versions *v = kiln_versions ();
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *recipe_abs = g_canonicalize_filename (r->path, NULL);
  g_autofree char *start = g_date_time_format_iso8601 (t->start);
  g_autofree char *end = g_date_time_format_iso8601 (t->end);
  g_autofree char *verify = verify_text (r);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "kiln_manifest");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "recipe");
  json_builder_begin_object (b);
  kiln_json_add_string (b, "path", recipe_abs);
  kiln_json_add_string (b, "name", r->name);
  kiln_json_add_string (b, "digest", ((struct kiln_recipe_file *) r->files->pdata[0])->digest);
  add_files (b, r, true);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "base");
  json_builder_begin_object (b);
  kiln_json_add_string (b, "source", r->base_source);
  kiln_json_add_string (b, "fetched_from", fr->source);
  kiln_json_add_string (b, "sums", r->base_sums);
  kiln_json_add_string (b, "checksum", r->base_checksum);
  kiln_json_add_string (b, "verification", fr->verification ? fr->verification : verify);
  json_builder_set_member_name (b, "verified");
  json_builder_add_boolean_value (b, fr->verified);
  kiln_json_add_string (b, "path", fr->path);
  kiln_json_add_string (b, "format", fr->format);
  kiln_json_add_string (b, "digest", fr->digest);
  kiln_json_add_string (b, "source_digest", fr->source_digest);
  json_builder_set_member_name (b, "from_cache");
  json_builder_add_boolean_value (b, fr->from_cache);
  json_builder_end_object (b);

  begin_output (b, j);
  kiln_json_add_string (b, "digest", res->digest);
  /* The file that holds generated passwords, never the passwords. */
  kiln_json_add_string (b, "passwords", passwords);
  kiln_json_add_string (b, "sbom", sbom);
  json_builder_end_object (b);

  add_steps (b, r);
  add_sysprep (b, r, "defaults");

  json_builder_set_member_name (b, "guest");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "inspected");
  json_builder_add_boolean_value (b, res->launched);
  kiln_json_add_string (b, "distro", res->distro);
  json_builder_set_member_name (b, "major");
  json_builder_add_int_value (b, res->major);
  json_builder_set_member_name (b, "minor");
  json_builder_add_int_value (b, res->minor);
  kiln_json_add_string (b, "osinfo", res->osinfo);
  kiln_json_add_string (b, "accel", !res->launched ? NULL : res->accel == KILN_ACCEL_TCG ? "tcg" : "kvm");
  json_builder_end_object (b);

  /* Where the template was published: the connection (NULL: kiln's -c)
   * and the pool its image was uploaded into (NULL: used where it is). */
  if (r->template) {
    json_builder_set_member_name (b, "template");
    json_builder_begin_object (b);
    kiln_json_add_string (b, "name", r->template_name);
    kiln_json_add_string (b, "connect", r->template_connect);
    kiln_json_add_string (b, "pool", r->template_pool);
    json_builder_end_object (b);
  }

  add_test (b, r, rep);

  json_builder_set_member_name (b, "versions");
  json_builder_begin_object (b);
  kiln_json_add_string (b, "kiln", v->kiln);
  kiln_json_add_string (b, "libguestfs", v->libguestfs);
  kiln_json_add_string (b, "libvirt", v->libvirt);
  kiln_json_add_string (b, "qemu", v->qemu);
  json_builder_end_object (b);

  kiln_json_add_string (b, "started", start);
  kiln_json_add_string (b, "finished", end);
  json_builder_set_member_name (b, "milliseconds");
  json_builder_begin_object (b);
  add_ms (b, "fetch", j->base->seconds);
  add_ms (b, "image", t->image);
  add_ms (b, "create", res->create_seconds);
  add_ms (b, "launch", res->launch_seconds);
  add_ms (b, "grow", res->grow_seconds);
  add_ms (b, "customize", res->customize_seconds);
  add_ms (b, "sysprep", res->sysprep_seconds);
  add_ms (b, "total", g_date_time_difference (t->end, t->start) / 1e6);
  json_builder_end_object (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  kiln_secret_redact_json (root);           /* written 0644: no secret variable's value */
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

/* The passwords that the build generated, "USER:PASSWORD" lines (the
 * form chpasswd reads), in a temporary beside PATH that only its owner
 * can read (published at the build's commit). */
static char *
write_passwords (const char *path, const GPtrArray *pws, GError **err)
{
  g_autoptr (GString) text = g_string_new (NULL);
  char *tmp;

  for (guint i = 0; i < pws->len; i++) {
    const struct kiln_customize_password *pw = pws->pdata[i];

    g_string_append_printf (text, "%s:%s\n", pw->user, pw->password);
  }
  tmp = kiln_temp_write (path, text->str, text->len, 0600, err);
  explicit_bzero (text->str, text->len);
  return tmp;
}

/* The SBOM of J's image (lib/sbom.h), the packages that the image build
 * read in its launch and the base with its digest, in a temporary beside
 * SBOM (published at the build's commit, before the manifest). */
static char *
write_sbom (const char *sbom, const struct job *j, const struct kiln_image_result *res,
            GError **err)
{
  const struct kiln_fetch_result *fr = &j->base->fr;
  struct kiln_sbom_doc d = {
    .image = j->output, .image_digest = res->digest, .guest = res->contents,
    .base = fr->path, .base_source = fr->source, .base_digest = fr->digest,
    .base_verified = fr->verified, .base_source_digest = fr->source_digest,
  };

  g_autofree char *text = kiln_sbom_json (&d, err);

  return text ? kiln_temp_write (sbom, text, strlen (text), 0644, err) : NULL;
}

/* ------------------------------------------------------------ register */

/* kiln_build_register (lib/buildreg.c): the commit, a transaction. */

/* What the manifest is made of, for its rewrite once the boot check passed. */
struct tested {
  const struct job *j;
  const struct kiln_image_result *res;
  const char *passwords, *sbom;
  struct timings *t;
  const char *manifest_tmp;
};

/* kiln_build_tested_fn: the manifest's temporary made again with the check. */
static int
record_test (const struct kiln_build_test_report *rep, void *data, GError **err)
{
  struct tested *td = data;
  g_autofree char *text = NULL;

  if (td->t->end)
    g_date_time_unref (td->t->end);
  td->t->end = g_date_time_new_now_utc ();
  text = manifest_text (td->j, td->res, td->passwords, td->sbom, td->t, rep);
  return kiln_file_write_atomic (td->manifest_tmp, text, strlen (text), 0644, true, err);
}

/* ------------------------------------------------------------ the work */

static void
fetch_one (gpointer data, gpointer user_data)
{
  struct base_group *bg = data;
  struct run *run = user_data;
  const struct kiln_recipe *r = bg->first;
  struct kiln_fetch_opts fo = {
    .checksum = r->base_checksum, .sums_url = r->base_sums, .insecure = r->base_insecure,
    .max_size = run->max_size,
  };
  const struct job *j = bg->users->pdata[0];
  double t = kiln_elapsed ();

  emit (run, j, "fetch", "start", "fetching %s", r->base_source);
  if (kiln_fault_check ("fetch", &bg->error) == -1 ||
      kiln_fetch (run->ctx, r->base_source, &fo, &bg->fr, &bg->error) == -1) {
    emit (run, j, "fetch", "error", "%s", bg->error->message);
    return;
  }
  /* A local path is trusted, not verified: record what it was anyway. */
  if (bg->fr.digest == NULL && (bg->fr.digest = kiln_digest_file (bg->fr.path, "sha256", &bg->error)) == NULL) {
    emit (run, j, "fetch", "error", "%s", bg->error->message);
    return;
  }
  bg->ok = true;
  bg->seconds = kiln_elapsed () - t;
  emit (run, j, "fetch", "end", "%s %s (%s)", bg->fr.from_cache ? "cached:" : "fetched:",
        bg->fr.path, bg->fr.digest ? bg->fr.digest : "local file");
}

static void
fail_job (struct run *run, struct job *j, const char *stage, GError *e)
{
  emit (run, j, stage, "error", "%s", e->message);
  g_mutex_lock (&run->lock);
  j->state = JOB_FAILED;
  j->error = e;
  if (!run->keep_going)
    run->stop = true;
  g_mutex_unlock (&run->lock);
}

static void
build_one (gpointer data, gpointer user_data)
{
  struct job *j = data;
  struct run *run = user_data;
  const struct kiln_recipe *r = j->r;
  struct kiln_image_opts o = {
    .base = j->base->fr.path, .base_format = j->base->fr.format, .output = j->output,
    .format = r->output_format, .copy = strcmp (r->output_mode, "copy") == 0,
    .size = r->output_bytes, .force = run->force, .custom = j->custom, .sysprep = j->sel,
    .packages = !run->no_sbom,
  };
  struct kiln_image_result res = { 0 };
  struct timings t = { 0 };
  g_autofree char *text = NULL, *pwfile = g_strconcat (j->output, ".passwords", NULL);
  g_autofree char *manifest_tmp = NULL, *pw_tmp = NULL;
  g_autofree char *sbom = kiln_sbom_path (j->output), *sbom_tmp = NULL;
  GError *e = NULL;
  const char *stage = "image";
  double t0;

  g_mutex_lock (&run->lock);
  if (run->stop) {
    j->state = JOB_SKIPPED;
    g_mutex_unlock (&run->lock);
    return;
  }
  g_mutex_unlock (&run->lock);

  /* Everything under temporary names first; kiln_build_register is the
   * commit, which publishes them or removes them. */
  kiln_event_set_job (r->name);
  t.start = g_date_time_new_now_utc ();
  t0 = kiln_elapsed ();
  emit (run, j, "image", "start", "building %s", j->output);
  o.unpublished = true;
  if (kiln_image_build (run->ctx, &o, &res, &e) == -1) {
    fail_job (run, j, "image", e);
    goto out;
  }
  t.image = kiln_elapsed () - t0;
  emit (run, j, "image", "end", "%s (%s) in %.1f s", j->output, res.digest, t.image);

  stage = "manifest";
  /* Without generated passwords, what an earlier build of OUTPUT
   * generated belongs to the image being replaced: removed with it. */
  if (res.passwords->len && (pw_tmp = write_passwords (pwfile, res.passwords, &e)) == NULL)
    goto undo;
  /* Likewise its SBOM, with --no-sbom. */
  if (!run->no_sbom && (sbom_tmp = write_sbom (sbom, j, &res, &e)) == NULL)
    goto undo;
  t.end = g_date_time_new_now_utc ();
  text = manifest_text (j, &res, pw_tmp ? pwfile : NULL, sbom_tmp ? sbom : NULL, &t, NULL);
  manifest_tmp = kiln_temp_write (j->manifest, text, strlen (text), 0644, &e);
  if (manifest_tmp == NULL)
    goto undo;

  if (r->template || r->clones || r->networks->len)
    emit (run, j, "register", "start", "registering template %s", r->template_name ? r->template_name : r->name);
  stage = "register";
  {
    const struct kiln_build_file files[] = {
      { res.work, j->output, "publish" },
      { sbom_tmp, sbom, NULL },       /* before the manifest, which names it */
      { manifest_tmp, j->manifest, "manifest" },
      { pw_tmp, pwfile, NULL },
    };
    struct tested td = {
      .j = j, .res = &res, .passwords = pw_tmp ? pwfile : NULL, .sbom = sbom_tmp ? sbom : NULL,
      .t = &t, .manifest_tmp = manifest_tmp,
    };
    int rc = kiln_build_register (run->ctx, r, files, G_N_ELEMENTS (files), j->output, &res,
                                  run->force, record_test, &td, &e);

    /* Consumed by the commit, either way. */
    g_clear_pointer (&res.work, g_free);
    g_clear_pointer (&manifest_tmp, g_free);
    if (rc == -1) {
      g_clear_pointer (&pw_tmp, g_free);
      g_clear_pointer (&sbom_tmp, g_free);
      goto undo;
    }
  }
  if (sbom_tmp)
    emit (run, j, "image", "sbom", "SBOM %s", sbom);
  if (pw_tmp)
    emit (run, j, "image", "passwords", "generated passwords in %s", pwfile);
  emit (run, j, "manifest", "end", "manifest %s", j->manifest);
  g_mutex_lock (&run->lock);
  j->state = JOB_DONE;
  g_mutex_unlock (&run->lock);
  emit (run, j, "build", "end", "done in %.1f s", kiln_elapsed () - t0);
  goto out;

 undo:
  /* Nothing half-made: what was made is under temporary names only. */
  kiln_temp_discard (res.work);
  kiln_temp_discard (manifest_tmp);
  kiln_temp_discard (pw_tmp);
  kiln_temp_discard (sbom_tmp);
  fail_job (run, j, stage, e);
 out:
  kiln_event_set_job (NULL);
  kiln_image_result_clear (&res);
  if (t.start)
    g_date_time_unref (t.start);
  if (t.end)
    g_date_time_unref (t.end);
}

static void
run_pool (GFunc fn, GPtrArray *items, struct run *run, int jobs)
{
  GThreadPool *pool;

  if (jobs <= 1 || items->len <= 1) {
    for (guint i = 0; i < items->len; i++)
      fn (items->pdata[i], run);
    return;
  }
  pool = g_thread_pool_new (fn, run, jobs, FALSE, NULL);
  for (guint i = 0; i < items->len; i++)
    g_thread_pool_push (pool, items->pdata[i], NULL);
  g_thread_pool_free (pool, FALSE, TRUE);
}

/* The customize and sysprep objects, built now so that a bad argument
 * fails before anything is fetched. */
static int
prepare (struct job *j, GError **err)
{
  const struct kiln_recipe *r = j->r;
  g_autoptr (GError) e = NULL;

  j->custom = kiln_customize_new ();
  for (guint i = 0; i < r->steps->len; i++) {
    const struct kiln_recipe_step *s = r->steps->pdata[i];

    if (kiln_customize_add_args (j->custom, s->row, (const char *const *) s->args, &e) == -1) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "%s: %s: %s", s->where, s->op, e->message);
      return -1;
    }
  }
  if (r->sysprep) {
    j->sel = kiln_sysprep_sel_new ();
    if ((r->sysprep_operations && kiln_sysprep_sel_operations (j->sel, r->sysprep_operations, &e) == -1) ||
        (r->sysprep_enable && kiln_sysprep_sel_enable (j->sel, r->sysprep_enable, &e) == -1)) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "%s: sysprep: %s", r->path, e->message);
      return -1;
    }
  }
  return 0;
}

int
kiln_cmd_build (struct kiln_ctx *ctx, int argc, char **argv)
{
  g_autoptr (kiln_opts) p = kiln_opts_new (ctx, argc, argv);
  g_autoptr (GPtrArray) vars = g_ptr_array_new ();
  g_autoptr (GPtrArray) jobs = g_ptr_array_new_with_free_func (job_free);
  g_autoptr (GPtrArray) groups = g_ptr_array_new_with_free_func (group_free);
  g_autoptr (GHashTable) by_key = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) outputs = g_hash_table_new (g_str_hash, g_str_equal);
  struct run run = { .ctx = ctx };
  bool dry_run = false, unsafe_write = false;
  const char *arg = NULL;
  int njobs = 1, c, i, failed = 0;

  while ((c = kiln_opts_next (p, &arg)) != 0) {
    switch (c) {
    case OPT_VAR:
      if (!kiln_recipe_var_valid (arg))
        return kiln_usage_error (ctx, "--var takes NAME=VALUE, not '%s'", arg);
      g_ptr_array_add (vars, (gpointer) arg);
      break;
    case OPT_DRY_RUN:
      dry_run = true;
      break;
    case OPT_JOBS: {
      char *end;
      long n = strtol (arg, &end, 10);

      if (*arg == '\0' || *end != '\0' || n < 1 || n > 64)
        return kiln_usage_error (ctx, "--jobs takes a number from 1 to 64, not '%s'", arg);
      njobs = n;
      break;
    }
    case OPT_KEEP_GOING:
      run.keep_going = true;
      break;
    case OPT_UNSAFE_WRITE:
      unsafe_write = true;
      break;
    case OPT_FORCE:
      run.force = true;
      break;
    case OPT_NO_SBOM:
      run.no_sbom = true;
      break;
    case OPT_MAX_SIZE: {
      g_autoptr (GError) e0 = NULL;

      if (kiln_parse_size (arg, &run.max_size, &e0) == -1)
        return kiln_usage_error (ctx, "--max-size: %s", e0->message);
      break;
    }
    }
  }
  i = kiln_opts_operand_index (p);
  if (i >= argc)
    return kiln_usage_error (ctx, "which recipe? (kiln build RECIPE...)");
  g_ptr_array_add (vars, NULL);

  /* Everything is loaded and checked before any work. */
  for (; i < argc; i++) {
    g_autoptr (GError) e = NULL;
    struct kiln_recipe *r = kiln_recipe_load (argv[i], (const char *const *) vars->pdata, &e);
    struct job *j;

    if (r == NULL) {
      kiln_error ("%s", e->message);
      failed++;
      continue;
    }
    j = g_new0 (struct job, 1);
    j->r = r;
    j->output = g_canonicalize_filename (r->output_path, NULL);
    j->manifest = g_strconcat (j->output, ".json", NULL);
    j->exists = g_file_test (j->output, G_FILE_TEST_EXISTS);
    g_ptr_array_add (jobs, j);
    if (g_hash_table_contains (outputs, j->output)) {
      kiln_error ("%s: writes %s, like %s before it: give each recipe its own output",
                  r->path, j->output, (char *) g_hash_table_lookup (outputs, j->output));
      failed++;
    }
    g_hash_table_insert (outputs, j->output, r->path);
    if (j->exists && !run.force && !dry_run) {
      kiln_error ("%s: %s exists (use --force to replace it)", r->path, j->output);
      failed++;
    }
  }
  if (failed)
    return KILN_EXIT_FAILURE;

  /* Two recipes of one run may not define the same domain. */
  {
    g_autoptr (GHashTable) domains = g_hash_table_new (g_str_hash, g_str_equal);

    for (guint k = 0; k < jobs->len; k++) {
      const struct kiln_recipe *r = ((struct job *) jobs->pdata[k])->r;
      const char *tpl[] = { r->template ? r->template_name : NULL, NULL };

      for (int pass = 0; pass < 2; pass++)
        for (const char *const *d = pass ? (const char *const *) r->clones : tpl; d && *d; d++) {
          const char *other = g_hash_table_lookup (domains, *d);

          if (other) {
            kiln_error ("%s: the domain %s is also made by %s: give each recipe its own names",
                        r->path, *d, other);
            failed++;
          } else {
            g_hash_table_insert (domains, (gpointer) *d, r->path);
          }
        }
    }
  }
  if (failed)
    return KILN_EXIT_FAILURE;

  for (guint k = 0; k < jobs->len; k++) {
    struct job *j = jobs->pdata[k];
    g_autofree char *key = base_key (j->r);
    struct base_group *bg = g_hash_table_lookup (by_key, key);

    if (bg == NULL) {
      bg = g_new0 (struct base_group, 1);
      bg->key = g_steal_pointer (&key);
      bg->first = j->r;
      bg->users = g_ptr_array_new ();
      g_ptr_array_add (groups, bg);
      g_hash_table_insert (by_key, bg->key, bg);
    }
    g_ptr_array_add (bg->users, j);
    j->base = bg;
  }

  if (dry_run) {
    if (ctx->json) {
      g_autoptr (JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "dry_run");
      json_builder_add_boolean_value (b, TRUE);
      json_builder_set_member_name (b, "plans");
      json_builder_begin_array (b);
      for (guint k = 0; k < jobs->len; k++)
        plan_json (b, &run, jobs->pdata[k]);
      json_builder_end_array (b);
      json_builder_end_object (b);
      kiln_json_print_builder (b);
    } else {
      g_autoptr (GString) o = g_string_new (NULL);
      g_autofree char *shown = NULL;

      for (guint k = 0; k < jobs->len; k++) {
        if (k)
          g_string_append_c (o, '\n');
        plan_text (o, &run, jobs->pdata[k]);
      }
      shown = kiln_secret_redact (o->str);       /* secret variables' values */
      fputs (shown, stdout);
      printf ("\n%u recipe%s, %u base%s to fetch; dry run: nothing fetched, written or defined\n",
              jobs->len, jobs->len == 1 ? "" : "s", groups->len, groups->len == 1 ? "" : "s");
    }
    /* What the build would refuse before any work, the plan refuses too. */
    for (guint k = 0; k < jobs->len; k++) {
      const struct job *j = jobs->pdata[k];

      g_autoptr (GError) e = NULL;

      if (j->exists && !run.force) {
        kiln_error ("%s: %s exists (use --force to replace it)", j->r->path, j->output);
        failed++;
      }
      if (kiln_build_check_target (ctx, j->r, &e) == -1) {
        kiln_error ("%s: %s", j->r->path, e->message);
        failed++;
      }
    }
    return failed ? KILN_EXIT_FAILURE : KILN_EXIT_OK;
  }

  /* An output that linked clones are backed by is not replaced: checked
   * for every job before anything is fetched or written. */
  for (guint k = 0; k < jobs->len; k++) {
    const struct job *j = jobs->pdata[k];
    g_autoptr (GError) e = NULL;

    if (!j->exists)
      continue;
    if (unsafe_write) {
      kiln_warn (KILN_UNSAFE_WRITE_OPTION ": replacing %s without checking for linked "
                 "clones backed by it or running domains using it", j->output);
    } else if (kiln_image_check_writable (ctx, j->output, &e) == -1) {
      kiln_error ("%s: %s", j->r->path, e->message);
      failed++;
    }
  }
  if (failed)
    return KILN_EXIT_FAILURE;

  /* The template each recipe replaces (--force) has no linked clones, and
   * no domain has a clone's name: checked before any work too, so that a
   * refusal touches nothing (the commit checks again). */
  for (guint k = 0; k < jobs->len; k++) {
    const struct job *j = jobs->pdata[k];
    g_autoptr (GError) e = NULL;

    if (kiln_build_check (ctx, j->r, run.force, &e) == -1) {
      kiln_error ("%s: %s", j->r->path, e->message);
      failed++;
    }
  }
  if (failed)
    return KILN_EXIT_FAILURE;

  for (guint k = 0; k < jobs->len; k++) {
    g_autoptr (GError) e = NULL;

    if (prepare (jobs->pdata[k], &e) == -1) {
      kiln_error ("%s", e->message);
      failed++;
    }
  }
  if (failed)
    return KILN_EXIT_FAILURE;

  g_mutex_init (&run.lock);
  run.jobs = jobs;
  run.groups = groups;
  run_pool (fetch_one, groups, &run, njobs);
  {
    g_autoptr (GPtrArray) ready = g_ptr_array_new ();

    for (guint k = 0; k < jobs->len; k++) {
      struct job *j = jobs->pdata[k];

      if (j->base->ok) {
        g_ptr_array_add (ready, j);
      } else {
        j->state = JOB_FAILED;
        j->error = g_error_copy (j->base->error);
        if (!run.keep_going)
          run.stop = true;
      }
    }
    run_pool (build_one, ready, &run, njobs);
  }
  g_mutex_clear (&run.lock);

  for (guint k = 0; k < jobs->len; k++) {
    const struct job *j = jobs->pdata[k];

    if (j->state != JOB_DONE)
      failed++;
    if (j->state == JOB_SKIPPED)
      kiln_error ("%s: not built: an earlier build failed (--keep-going builds the others anyway)", j->r->path);
    else if (!j->base->ok && j->base->users->pdata[0] != j)
      kiln_error ("%s: not built: its base %s could not be fetched (see above)", j->r->path, j->r->base_source);
  }
  if (ctx->json) {
    g_autoptr (JsonBuilder) b = json_builder_new ();

    json_builder_begin_object (b);
    kiln_json_add_string (b, "event", "summary");
    json_builder_set_member_name (b, "built");
    json_builder_add_int_value (b, jobs->len - failed);
    json_builder_set_member_name (b, "failed");
    json_builder_add_int_value (b, failed);
    json_builder_end_object (b);
    {
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      g_autofree char *text = NULL;

      json_generator_set_root (gen, root);
      text = json_generator_to_data (gen, NULL);
      printf ("%s\n", text);
    }
  } else if (failed == 0) {
    for (guint k = 0; k < jobs->len; k++)
      printf ("%s\n", ((struct job *) jobs->pdata[k])->output);
  }
  return failed ? KILN_EXIT_FAILURE : KILN_EXIT_OK;
}
