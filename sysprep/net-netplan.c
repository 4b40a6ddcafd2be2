/* net-netplan.c: netplan files that match the template's NIC by MAC
 * address (cloud-init writes "match: macaddress:" with "set-name:" on
 * Debian's and Ubuntu's cloud images) configure nothing on a clone, which
 * has a new MAC; a device's own "macaddress:" would give every clone the
 * template's.  Both go (netcfg.h); a file that is not valid YAML is left
 * as it is, with a warning. */
#include "netcfg.h"
#include "ops.h"

static int
unbind (const char *path, const char *text, size_t len, char **out, void *data, GError **err)
{
  int r = kiln_netcfg_netplan (text, len, out, err);

  if (r == -1)
    return -1;
  return r == KILN_NETCFG_CHANGED ? KILN_SYSPREP_EDIT_CHANGE : KILN_SYSPREP_EDIT_KEEP;
}

int
kiln_sysprep_op_net_netplan (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_edit_glob (j, "/etc/netplan/*.yaml", unbind, NULL, err);
}
