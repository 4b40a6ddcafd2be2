/* samba-db-log.c: Samba's databases (machine account, secrets) and logs. */
#include "ops.h"

static const char *const paths[] = {
  "/var/log/samba/old/*",
  "/var/log/samba/*",
  "/var/lib/samba/*/*",
  "/var/lib/samba/*",
  NULL,
};

int
kiln_sysprep_op_samba_db_log (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
