/* net-hwaddr.c: HWADDR (and MACADDR) in an ifcfg file bind the interface
 * to the template's MAC: a clone with a new MAC would find no
 * configuration for its NIC (Fedora, Red Hat and their kin). */
#include "ops.h"

static const char *const prefixes[] = { "HWADDR=", "MACADDR=", NULL };

int
kiln_sysprep_op_net_hwaddr (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_drop_lines_glob (j, "/etc/sysconfig/network-scripts/ifcfg-*", prefixes, err);
}
