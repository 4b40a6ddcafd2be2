/* list.c: kiln list: the templates that the configured repositories
 * offer (like virt-builder --list). */
#include <inttypes.h>
#include <stdio.h>

#include "kiln.h"
#include "json.h"
#include "msg.h"
#include "opts.h"
#include "progress.h"
#include "repo.h"

enum { OPT_LONG = 1 };

const struct kiln_option kiln_list_options[] = {
  { "long", 0, KILN_ARG_NONE, NULL, "show every field of every template", OPT_LONG },
  KILN_OPTION_END
};

static void
add_json (JsonBuilder *b, const struct kiln_template *t)
{
  json_builder_begin_object (b);
  kiln_json_add_strings (b, "name", t->name, "repository", t->repo,
                         "display_name", t->display_name, "url", t->url,
                         "checksum", t->checksum, "format", t->format, "osinfo", t->osinfo,
                         "arch", t->arch, "revision", t->revision, "notes", t->notes,
                         "error", t->error, NULL);
  kiln_json_add_int (b, "size", (gint64) t->size);
  kiln_json_add_int (b, "compressed_size", (gint64) t->compressed_size);
  kiln_json_add_strv (b, "aliases", (const char *const *) t->aliases);
  json_builder_end_object (b);
}

static void
print_long (const struct kiln_template *t)
{
  printf ("%-16s %s\n", "Template:", t->name);
  printf ("%-16s %s\n", "Repository:", t->repo);
  if (t->display_name)
    printf ("%-16s %s\n", "Name:", t->display_name);
  if (t->error)
    printf ("%-16s %s\n", "Unusable:", t->error);
  if (t->url)
    printf ("%-16s %s\n", "URL:", t->url);
  printf ("%-16s %s\n", "Checksum:", t->checksum ? t->checksum : "(none)");
  printf ("%-16s %s\n", "Architecture:", t->arch ? t->arch : "(any)");
  if (t->osinfo)
    printf ("%-16s %s\n", "osinfo:", t->osinfo);
  if (t->format)
    printf ("%-16s %s\n", "Format:", t->format);
  if (t->size) {
    g_autofree char *s = kiln_format_size (t->size);

    printf ("%-16s %s\n", "Size:", s);
  }
  if (t->compressed_size) {
    g_autofree char *s = kiln_format_size (t->compressed_size);

    printf ("%-16s %s\n", "Download size:", s);
  }
  if (t->revision)
    printf ("%-16s %s\n", "Revision:", t->revision);
  if (t->aliases && t->aliases[0]) {
    g_autofree char *a = g_strjoinv (" ", t->aliases);

    printf ("%-16s %s\n", "Aliases:", a);
  }
  if (t->notes) {
    g_autofree char *n = g_strdup (t->notes);
    g_auto (GStrv) lines = g_strsplit (n, "\n", -1);

    printf ("Notes:\n");
    for (char **l = lines; *l; l++)
      printf ("  %s\n", *l);
  }
  printf ("\n");
}

int
kiln_cmd_list (struct kiln_ctx *ctx, int argc, char **argv)
{
  g_autoptr (kiln_opts) p = kiln_opts_new (ctx, argc, argv);
  g_autoptr (GError) err = NULL;
  g_autoptr (GPtrArray) repos = NULL;
  g_autoptr (JsonBuilder) b = NULL;
  bool lng = false;
  int c, failed = 0;

  while ((c = kiln_opts_next (p, NULL)) != 0)
    if (c == OPT_LONG)
      lng = true;
  if (kiln_opts_operand_index (p) != argc)
    return kiln_usage_error (ctx, "kiln list takes no operands");
  repos = kiln_repos_load (&err);
  if (repos == NULL)
    return kiln_fail (err);
  if (repos->len == 0) {
    g_auto (GStrv) dirs = kiln_repos_dirs ();
    g_autofree char *d = g_strjoinv (", ", dirs);

    kiln_warn ("no repository is configured (looked in %s; see kiln-repos(5))", d);
  }
  if (ctx->json) {
    b = json_builder_new ();
    json_builder_begin_array (b);
  }
  for (guint i = 0; i < repos->len; i++) {
    const struct kiln_repo *r = repos->pdata[i];
    g_autoptr (GError) e = NULL;
    g_autoptr (GPtrArray) ts = kiln_repo_templates (ctx, r, &e);

    if (ts == NULL) {
      /* One broken repository does not hide the others, but fails the run. */
      kiln_error ("repository %s (%s): %s", r->id, r->conf, e->message);
      failed = 1;
      continue;
    }
    for (guint k = 0; k < ts->len; k++) {
      const struct kiln_template *t = ts->pdata[k];

      /* An unusable entry is named (even a hidden one): the others stay usable. */
      if (t->error)
        kiln_warn ("repository %s: %s %s cannot be fetched: %s", r->id, t->name,
                   t->arch ? t->arch : "(any arch)", t->error);
      if (t->hidden)
        continue;
      if (b)
        add_json (b, t);
      else if (lng)
        print_long (t);
      else
        printf ("%-36s %-8s %s%s\n", t->name, t->arch ? t->arch : "-",
                t->error ? "(unusable) " : "", t->display_name ? t->display_name : t->repo);
    }
  }
  if (b) {
    json_builder_end_array (b);
    kiln_json_print_builder (b);
  }
  return failed ? KILN_EXIT_FAILURE : KILN_EXIT_OK;
}
