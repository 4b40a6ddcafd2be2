/* fuzz-sums.c: the checksum-file parser, lib/repo.c kiln_sums_parse (GNU
 * and BSD lines: SHA512SUMS, SHA256SUMS, Fedora's clearsigned CHECKSUM),
 * and the lookup that follows it, on the input's bytes. */
#include "fuzz.h"
#include "repo.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (GPtrArray) sums = kiln_sums_parse ((const char *) data, size, "SHA512SUMS", &err);

  g_assert ((sums == NULL) != (err == NULL));
  for (guint i = 0; sums && i < sums->len; i++) {
    const struct kiln_sum *s = sums->pdata[i];
    g_autofree char *dotted = g_strconcat ("./", s->name, NULL);

    g_assert (g_str_has_prefix (s->checksum, "sha256:") || g_str_has_prefix (s->checksum, "sha512:"));
    g_assert (kiln_sums_lookup (sums, s->name) != NULL);
    (void) kiln_sums_lookup (sums, dotted);
  }
  return 0;
}
