/* dovecot-data.c: Dovecot's state (ssl parameters, instances) is per machine. */
#include "ops.h"

static const char *const paths[] = {
  "/var/lib/dovecot/*",
  NULL,
};

int
kiln_sysprep_op_dovecot_data (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
