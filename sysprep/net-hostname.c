/* net-hostname.c: a HOSTNAME or DHCP_HOSTNAME in an ifcfg file would give
 * every clone the template's name (Fedora, Red Hat and their kin). */
#include "ops.h"

static const char *const prefixes[] = { "HOSTNAME=", "DHCP_HOSTNAME=", NULL };

int
kiln_sysprep_op_net_hostname (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_drop_lines_glob (j, "/etc/sysconfig/network-scripts/ifcfg-*", prefixes, err);
}
