/* sysprep.c: placeholder until the sysprep operations land. */
#include "sysprep.h"

struct kiln_sysprep_sel {
  int unused;
};

struct kiln_sysprep_sel *
kiln_sysprep_sel_new (void)
{
  return g_new0 (struct kiln_sysprep_sel, 1);
}

void
kiln_sysprep_sel_free (struct kiln_sysprep_sel *s)
{
  g_free (s);
}

int
kiln_sysprep_sel_operations (struct kiln_sysprep_sel *s, const char *list, GError **err)
{
  g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "sysprep is not implemented yet");
  return -1;
}

int
kiln_sysprep_sel_enable (struct kiln_sysprep_sel *s, const char *list, GError **err)
{
  return kiln_sysprep_sel_operations (s, list, err);
}

int
kiln_sysprep_run (const struct kiln_sysprep_sel *s, struct kiln_guest *gu,
                  struct kiln_customize *custom, bool dry_run, GError **err)
{
  g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "sysprep is not implemented yet");
  return -1;
}
