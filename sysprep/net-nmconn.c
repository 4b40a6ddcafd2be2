/* net-nmconn.c: NetworkManager's system connection profiles name the
 * template's interfaces and MAC addresses (mac-address=) and hold Wi-Fi
 * and VPN secrets.  NetworkManager reads every file of the directory, not
 * only *.nmconnection, so all of them go; it makes a default wired
 * connection for the clone's NIC. */
#include "ops.h"

int
kiln_sysprep_op_net_nmconn (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_empty_dir (j, "/etc/NetworkManager/system-connections", err);
}
