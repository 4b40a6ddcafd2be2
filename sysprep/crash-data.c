/* crash-data.c: kdump's kernel crash dumps belong to the machine that crashed. */
#include "ops.h"

static const char *const paths[] = {
  "/var/crash/*",
  "/var/log/dump/*",
  NULL,
};

int
kiln_sysprep_op_crash_data (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
