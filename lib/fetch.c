/* fetch.c: placeholder until the fetch work lands: only local paths,
 * which are trusted as they are. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "fetch.h"

int
kiln_fetch (const struct kiln_ctx *ctx, const char *source,
            const struct kiln_fetch_opts *o, struct kiln_fetch_result *r,
            GError **err)
{
  struct stat st;

  memset (r, 0, sizeof *r);
  if (strstr (source, "://") != NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "%s: downloads are not implemented yet", source);
    return -1;
  }
  if (stat (source, &st) != 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_NOT_FOUND, "%s: %s", source, g_strerror (errno));
    return -1;
  }
  r->path = g_canonicalize_filename (source, NULL);
  r->source = g_strdup (r->path);
  r->size = st.st_size;
  return 0;
}

void
kiln_fetch_result_clear (struct kiln_fetch_result *r)
{
  g_clear_pointer (&r->path, g_free);
  g_clear_pointer (&r->format, g_free);
  g_clear_pointer (&r->digest, g_free);
  g_clear_pointer (&r->source, g_free);
  g_clear_pointer (&r->source_digest, g_free);
  g_clear_pointer (&r->osinfo, g_free);
}

int
kiln_cache_add_user (const struct kiln_ctx *ctx, const char *base,
                     const char *user, GError **err)
{
  return 0;
}

char *
kiln_cache_dir (const struct kiln_ctx *ctx, GError **err)
{
  g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "the cache is not implemented yet");
  return NULL;
}
