/* cache.c: kiln cache list|verify|prune: look at, check and clean the
 * image cache (like virt-builder --print-cache / --delete-cache, but
 * prune keeps every base an overlay or a template still uses). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kiln.h"
#include "cache.h"
#include "inspection.h"
#include "digest.h"
#include "fetch.h"
#include "json.h"
#include "msg.h"
#include "opts.h"
#include "progress.h"

enum { OPT_DRY_RUN = 1 };

const struct kiln_option kiln_cache_options[] = {
  { "dry-run", 'n', KILN_ARG_NONE, NULL, "prune: say what would be removed, remove nothing", OPT_DRY_RUN },
  KILN_OPTION_END
};

static char *
meta (const struct kiln_cache_entry *e, const char *key)
{
  return g_key_file_get_string (e->meta, "image", key, NULL);
}

static int
cache_list (struct kiln_ctx *ctx, const char *dir, GPtrArray *es)
{
  g_autoptr (JsonBuilder) b = ctx->json ? json_builder_new () : NULL;

  if (b)
    json_builder_begin_array (b);
  else
    printf ("cache: %s\n", dir);
  for (guint i = 0; i < es->len; i++) {
    const struct kiln_cache_entry *e = es->pdata[i];
    g_autofree char *source = meta (e, "source");
    g_autofree char *format = meta (e, "format");
    g_autofree char *sdigest = meta (e, "source_digest");

    if (b) {
      json_builder_begin_object (b);
      kiln_json_add_strings (b, "path", e->path, "digest", e->digest, "format", format,
                             "source", source, "source_digest", sdigest, NULL);
      kiln_json_add_int (b, "size", (gint64) e->apparent);
      kiln_json_add_int (b, "disk_usage", (gint64) e->size);
      kiln_json_add_string (b, "untrusted", e->problem);
      kiln_json_add_strv (b, "users", (const char *const *) e->users);
      json_builder_end_object (b);
    }
    else {
      g_autofree char *sz = kiln_format_size (e->apparent);
      g_autofree char *du = kiln_format_size (e->size);

      printf ("%s\n  %-8s %s (%s on disk)\n  %-8s %s\n  %-8s %s\n  %-8s %u\n",
              e->path, "size:", sz, du, "format:", format ? format : "?",
              "source:", source ? source : "?", "users:", g_strv_length (e->users));
      if (e->problem)
        printf ("  %-8s %s\n", "NOT USED:", e->problem);
    }
  }
  if (b) {
    json_builder_end_array (b);
    kiln_json_print_builder (b);
  }
  return KILN_EXIT_OK;
}

static int
cache_verify (struct kiln_ctx *ctx, GPtrArray *es)
{
  int bad = 0;

  for (guint i = 0; i < es->len; i++) {
    const struct kiln_cache_entry *e = es->pdata[i];
    g_autoptr (GError) err = NULL;
    g_autofree char *got = NULL;

    if (e->problem) {
      /* Not read: it may be a link to a file that is none of kiln's. */
      kiln_error ("%s is not an entry kiln trusts: %s (kiln does not use it; remove it, and "
                  "check who can write into the cache)", e->path, e->problem);
      bad++;
      continue;
    }
    {
      const char *alg = NULL;
      g_autofree char *named = kiln_checksum_parse (e->digest, &alg, &err);

      /* The name's algorithm (an entry without a problem has a name
       * kiln_cache_digest_of accepts). */
      if (named)
        got = kiln_digest_file (e->path, alg, &err);
    }
    if (got == NULL) {
      kiln_error ("%s", err->message);
      bad++;
    }
    else if (strcmp (got, e->digest) != 0) {
      kiln_error ("%s is corrupted: expected %s, got %s (kiln cache prune does not "
                  "remove it while it has users; delete it and fetch again)", e->path, e->digest, got);
      bad++;
    }
    else if (!ctx->json)
      printf ("ok %s\n", e->path);
  }
  if (bad) {
    kiln_error ("%d of %u cached images failed verification", bad, es->len);
    return KILN_EXIT_FAILURE;
  }
  kiln_info ("%u cached images verified", es->len);
  return KILN_EXIT_OK;
}

static int
cache_prune (struct kiln_ctx *ctx, const char *dir, GPtrArray *es, bool dry_run)
{
  uint64_t freed = 0;
  int removed = 0, kept = 0, n;
  g_autoptr (GError) err = NULL;

  for (guint i = 0; i < es->len; i++) {
    const struct kiln_cache_entry *e = es->pdata[i];

    if (e->users[0]) {
      kiln_debug ("keeping %s: used by %s", e->path, e->users[0]);
      kept++;
      continue;
    }
    if (!dry_run && kiln_cache_remove (dir, e, &err) == -1)
      return kiln_fail (err);
    printf ("%s %s\n", dry_run ? "would remove" : "removed", e->path);
    freed += e->size;
    removed++;
  }
  if (!dry_run) {
    n = kiln_cache_clean_partials (dir, &freed, &err);
    if (n < 0)
      return kiln_fail (err);
    removed += n;
  }
  {
    g_autofree char *f = kiln_format_size (freed);

    kiln_info ("%d %s (%s), %d kept because overlays or templates use them", removed,
               dry_run ? "would be removed" : "removed", f, kept);
  }
  /* Inspection results cost one inspection each to make again. */
  {
    g_autofree char *idir = g_build_filename (dir, "inspection", NULL);

    if (g_file_test (idir, G_FILE_TEST_IS_DIR) && !dry_run)
      kiln_info ("%u inspection results removed", kiln_inspection_clear (idir));
    else if (g_file_test (idir, G_FILE_TEST_IS_DIR))
      printf ("would remove the inspection results in %s\n", idir);
  }
  return KILN_EXIT_OK;
}

int
kiln_cmd_cache (struct kiln_ctx *ctx, int argc, char **argv)
{
  g_autoptr (kiln_opts) p = kiln_opts_new (ctx, argc, argv);
  g_autoptr (GError) err = NULL;
  g_autoptr (GPtrArray) es = NULL;
  g_autofree char *dir = NULL;
  bool dry_run = false;
  const char *action;
  int prune_lock = -1;
  int c, i;

  while ((c = kiln_opts_next (p, NULL)) != 0)
    if (c == OPT_DRY_RUN)
      dry_run = true;
  i = kiln_opts_operand_index (p);
  if (argc - i != 1)
    return kiln_usage_error (ctx, "one action: kiln cache list|verify|prune");
  action = argv[i];
  if (strcmp (action, "list") != 0 && strcmp (action, "verify") != 0 && strcmp (action, "prune") != 0)
    return kiln_usage_error (ctx, "unknown action '%s' (list, verify or prune)", action);
  dir = kiln_cache_dir (ctx, &err);
  if (dir == NULL)
    return kiln_fail (err);
  if (strcmp (action, "prune") == 0) {
    /* Wait for kiln create runs between their fetch and the record of
     * their overlay (kiln_cache_pin); held until exit. */
    prune_lock = kiln_cache_lock_prune (ctx, false, &err);
    if (prune_lock < 0 && err->code == KILN_ERROR_BUSY) {
      g_clear_error (&err);
      kiln_info ("waiting for kiln runs that are fetching bases");
      prune_lock = kiln_cache_lock_prune (ctx, true, &err);
    }
    if (prune_lock < 0)
      return kiln_fail (err);
  }
  es = kiln_cache_entries (dir, &err);
  if (es == NULL)
    return kiln_fail (err);
  if (strcmp (action, "list") == 0)
    return cache_list (ctx, dir, es);
  if (strcmp (action, "verify") == 0)
    return cache_verify (ctx, es);
  {
    int rc = cache_prune (ctx, dir, es, dry_run);

    close (prune_lock);
    return rc;
  }
}
