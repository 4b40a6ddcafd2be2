/* utmp.c: who is logged in: on disk only on older distributions. */
#include "ops.h"

static const char *const paths[] = {
  "/var/run/utmp",
  NULL,
};

int
kiln_sysprep_op_utmp (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
