/* dhcp-client-state.c: a lease names the old MAC and address; clones must ask afresh.
 * ISC dhclient (Red Hat, Debian), dhcpcd, NetworkManager's internal client. */
#include "ops.h"

static const char *const paths[] = {
  "/var/lib/dhclient/*",
  "/var/lib/dhcp/dhclient*",
  "/var/lib/dhcpcd/*.lease",
  "/var/lib/dhcpcd/*.lease6",
  "/var/lib/dhcpcd5/*.lease",
  "/var/lib/NetworkManager/*.lease",
  "/var/lib/NetworkManager/dhclient-*",
  NULL,
};

int
kiln_sysprep_op_dhcp_client_state (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
