/* ipa-client.c: an IPA enrollment is per host; removing its files unenrolls the
 * template without talking to the server. */
#include "ops.h"

static const char *const paths[] = {
  "/etc/ipa/ca.crt",
  "/etc/ipa/default.conf",
  "/etc/ipa/nssdb/*",
  "/var/lib/ipa-client/sysrestore/*",
  "/var/lib/ipa-client/pki/*",
  "/etc/pki/pki-tomcat/ca.crt",
  "/etc/pki/ca-trust/source/ipa.p11-kit",
  NULL,
};

int
kiln_sysprep_op_ipa_client (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
