/* mail-spool.c: local mail belongs to the machine it was delivered to. */
#include "ops.h"

static const char *const paths[] = {
  "/var/spool/mail/*",
  "/var/mail/*",
  NULL,
};

int
kiln_sysprep_op_mail_spool (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
