/* fuzz-index.c: the native (virt-builder) index parser, lib/repo.c
 * kiln_index_parse, on the input's bytes as they came off the network
 * (not NUL-terminated: a read past the end is ASan's to report). */
#include "fuzz.h"
#include "repo.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (GPtrArray) ts = kiln_index_parse ((const char *) data, size, "index",
                                               "https://h/r/", &err);

  g_assert ((ts == NULL) != (err == NULL));
  for (guint i = 0; ts && i < ts->len; i++) {
    const struct kiln_template *t = ts->pdata[i];

    /* What kiln does with an entry next: every usable one is a valid
     * name with a safe file= under the index's URL. */
    g_assert (t->name != NULL);
    if (t->error == NULL) {
      g_assert (kiln_template_name_valid (t->name));
      g_assert (t->file && kiln_index_file_valid (t->file));
      g_assert (g_str_has_prefix (t->url, "https://h/r/"));
    }
  }
  return 0;
}
