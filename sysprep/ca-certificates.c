/* ca-certificates.c: certificates and keys added to the system stores
 * (off by default: a template may mean to ship them).  The distribution's
 * own bundles are kept. */
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

static bool
is_kept (struct kiln_sysprep_job *j, const char *path)
{
  return g_strv_contains (keep, path);
}

int
kiln_sysprep_op_ca_certificates (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs_unless (j, paths, is_kept, err);
}
