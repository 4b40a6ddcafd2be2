/* smolt-uuid.c: Smolt's hardware profile UUID. */
#include "ops.h"

static const char *const paths[] = {
  "/etc/sysconfig/hw-uuid",
  "/etc/smolt/uuid",
  "/etc/smolt/hw-uuid",
  NULL,
};

int
kiln_sysprep_op_smolt_uuid (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
