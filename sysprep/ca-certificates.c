/* ca-certificates.c: certificates and keys added to the system stores
 * (off by default: a template may mean to ship them).  The distribution's
 * own bundles are kept. */
#include <string.h>
#include "ops.h"

static const char *const paths[] = {
  "/etc/pki/CA/certs/*.crt",
  "/etc/pki/CA/crl/*.crl",
  "/etc/pki/CA/newcerts/*.pem",
  "/etc/pki/CA/private/*.key",
  "/etc/pki/tls/private/*.key",
  "/etc/pki/tls/certs/*.crt",
  NULL,
};

static const char *const keep[] = {
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/pki/tls/certs/ca-bundle.trust.crt",
  NULL,
};

int
kiln_sysprep_op_ca_certificates (struct kiln_sysprep_job *j, GError **err)
{
  for (const char *const *pat = paths; *pat; pat++) {
    char **m = guestfs_glob_expand_opts (j->g, *pat, GUESTFS_GLOB_EXPAND_OPTS_DIRECTORYSLASH, 0, -1);
    int r = 0;

    if (m == NULL) {
      kiln_guest_set_error (j->gu, err, "%s: cannot expand %s", j->op, *pat);
      return -1;
    }
    for (char **p = m; *p; p++) {
      if (r == 0 && !g_strv_contains (keep, *p))
        r = kiln_sysprep_remove (j, *p, err);
      free (*p);
    }
    free (m);
    if (r == -1)
      return -1;
  }
  return 0;
}
