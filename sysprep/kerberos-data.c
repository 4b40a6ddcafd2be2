/* kerberos-data.c: a KDC's database and stash are one realm's secrets (off
 * by default).  Its configuration (kdc.conf, kadm5.acl) is kept. */
#include "ops.h"

static const char *const dirs[] = { "/var/kerberos/krb5kdc", "/etc/krb5kdc", "/var/lib/krb5kdc", NULL };
static const char *const keep[] = { "kadm5.acl", "kdc.conf", NULL };

int
kiln_sysprep_op_kerberos_data (struct kiln_sysprep_job *j, GError **err)
{
  for (const char *const *d = dirs; *d; d++) {
    char **names;
    int r = 0;

    if (guestfs_is_dir (j->g, *d) <= 0)
      continue;
    names = guestfs_ls (j->g, *d);
    if (names == NULL) {
      kiln_guest_set_error (j->gu, err, "%s: cannot list %s", j->op, *d);
      return -1;
    }
    for (char **n = names; *n; n++) {
      g_autofree char *p = g_build_filename (*d, *n, NULL);

      if (r == 0 && !g_strv_contains (keep, *n))
        r = kiln_sysprep_remove (j, p, err);
      free (*n);
    }
    free (names);
    if (r == -1)
      return -1;
  }
  return 0;
}
