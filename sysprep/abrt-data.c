/* abrt-data.c: ABRT's crash reports belong to the machine that crashed. */
#include "ops.h"

static const char *const paths[] = {
  "/var/spool/abrt/*",
  "/var/tmp/abrt/*",
  NULL,
};

int
kiln_sysprep_op_abrt_data (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
