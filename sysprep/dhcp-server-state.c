/* dhcp-server-state.c: a DHCP server's leases describe the old network's clients. */
#include "ops.h"

static const char *const paths[] = {
  "/var/lib/dhcpd/*",
  "/var/lib/dhcp/dhcpd.leases*",
  "/var/lib/dhcp/dhcpd6.leases*",
  "/var/lib/misc/dnsmasq.leases",
  NULL,
};

int
kiln_sysprep_op_dhcp_server_state (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
