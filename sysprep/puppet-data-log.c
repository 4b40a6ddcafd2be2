/* puppet-data-log.c: puppet's agent state, reports and logs identify the old node. */
#include "ops.h"

static const char *const paths[] = {
  "/var/log/puppet/*",
  "/var/lib/puppet/*/*",
  "/var/log/puppetlabs/*",
  "/opt/puppetlabs/puppet/cache/*/*",
  "/etc/puppetlabs/puppet/ssl/*",
  NULL,
};

int
kiln_sysprep_op_puppet_data_log (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
