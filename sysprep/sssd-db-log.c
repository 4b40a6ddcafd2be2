/* sssd-db-log.c: sssd's cached identities and logs. */
#include "ops.h"

static const char *const paths[] = {
  "/var/log/sssd/*",
  "/var/lib/sss/db/*",
  NULL,
};

int
kiln_sysprep_op_sssd_db_log (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
