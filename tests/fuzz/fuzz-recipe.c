/* fuzz-recipe.c: the recipe loader (lib/recipe.c kiln_recipe_load) on a
 * file holding the input.  The loader follows extends: and the customize
 * steps read local files (upload:, run:, password file:...), so the
 * target runs in the Landlock sandbox of fuzz.c: an input can name any
 * path, kiln reads only the private directory's. */
#include "fuzz.h"
#include "recipe.h"

static bool sandboxed;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  sandboxed = kiln_fuzz_sandbox (*argc, *argv);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (kiln_recipe) r = NULL;

  if (!sandboxed && kiln_fuzz_names_host (data, size))
    return -1;
  r = kiln_recipe_load (kiln_fuzz_file ("recipe.yaml", data, size), NULL, &err);
  g_assert ((r == NULL) != (err == NULL));
  return 0;
}
