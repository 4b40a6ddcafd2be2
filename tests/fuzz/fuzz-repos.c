/* fuzz-repos.c: a repos.d file (lib/repo.c kiln_repos_parse) on the
 * input's bytes. */
#include "fuzz.h"
#include "repo.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (GPtrArray) repos = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_repo_free);
  int r = kiln_repos_parse ((const char *) data, size, "/etc/kiln/repos.d/fuzz.conf", repos, &err);

  g_assert ((r == -1) == (err != NULL));
  for (guint i = 0; r == 0 && i < repos->len; i++) {
    const struct kiln_repo *x = repos->pdata[i];

    g_assert (x->id && x->uri && g_str_has_suffix (x->uri, "/"));
  }
  return 0;
}
