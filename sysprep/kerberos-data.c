/* kerberos-data.c: a KDC's database and stash are one realm's secrets (off
 * by default).  Its configuration (kdc.conf, kadm5.acl) is kept. */
#include "ops.h"

static const char *const dirs[] = { "/var/kerberos/krb5kdc", "/etc/krb5kdc", "/var/lib/krb5kdc", NULL };
static const char *const keep[] = { "kadm5.acl", "kdc.conf", NULL };

int
kiln_sysprep_op_kerberos_data (struct kiln_sysprep_job *j, GError **err)
{
  for (const char *const *d = dirs; *d; d++)
    if (kiln_sysprep_empty_dir_except (j, *d, keep, err) == -1)
      return -1;
  return 0;
}
