/* rhn-systemid.c: the RHN registration of the old system. */
#include "ops.h"

static const char *const paths[] = {
  "/etc/sysconfig/rhn/systemid",
  "/etc/sysconfig/rhn/osad-auth.conf",
  NULL,
};

int
kiln_sysprep_op_rhn_systemid (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
