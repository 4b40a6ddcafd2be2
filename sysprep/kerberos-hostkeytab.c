/* kerberos-hostkeytab.c: the host keytab holds this host's Kerberos keys. */
#include "ops.h"

static const char *const paths[] = {
  "/etc/krb5.keytab",
  NULL,
};

int
kiln_sysprep_op_kerberos_hostkeytab (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
