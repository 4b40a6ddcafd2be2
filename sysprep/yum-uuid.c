/* yum-uuid.c: yum's UUID; yum makes a new one when it is gone. */
#include "ops.h"

static const char *const paths[] = {
  "/var/lib/yum/uuid",
  NULL,
};

int
kiln_sysprep_op_yum_uuid (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
