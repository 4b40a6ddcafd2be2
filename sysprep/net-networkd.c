/* net-networkd.c: systemd-networkd files that match the template's NIC by
 * MAC address ([Match] MACAddress=) configure nothing on a clone, which
 * has a new MAC; fixed MACs ([Link] or [NetDev] MACAddress=) would give
 * every clone the template's.  Both go (netcfg.h says how an emptied
 * [Match] is handled).  Only /etc/systemd/network: /usr/lib and /run hold
 * the distribution's and the running system's files, not the template's. */
#include "netcfg.h"
#include "ops.h"

static int
unbind (const char *path, const char *text, size_t len, char **out, void *data, GError **err)
{
  switch (kiln_netcfg_networkd (path, text, len, out)) {
  case KILN_NETCFG_CHANGED:
    return KILN_SYSPREP_EDIT_CHANGE;
  case KILN_NETCFG_REMOVE:
    return KILN_SYSPREP_EDIT_REMOVE;
  default:
    return KILN_SYSPREP_EDIT_KEEP;
  }
}

int
kiln_sysprep_op_net_networkd (struct kiln_sysprep_job *j, GError **err)
{
  static const char *const globs[] = {
    "/etc/systemd/network/*.network", "/etc/systemd/network/*.link",
    "/etc/systemd/network/*.netdev", NULL,
  };

  for (const char *const *g = globs; *g; g++)
    if (kiln_sysprep_edit_glob (j, *g, unbind, NULL, err) == -1)
      return -1;
  return 0;
}
