/* net-hwaddr.c: fixed MAC addresses in the classic network configuration
 * files bind an interface to the template's MAC, or give every clone the
 * template's MAC: HWADDR= and MACADDR= in Red Hat's ifcfg files (as
 * virt-sysprep's net-hwaddr), LLADDR= in SUSE's, and ifupdown's
 * "hwaddress" option (Debian and its kin).  A clone with a new MAC would
 * find no configuration for its NIC, or clash with the template.
 * NetworkManager keyfiles bind a profile to a NIC with mac-address= in
 * [ethernet] or [wifi]; that key goes (netcfg.h), the profile stays, so a
 * template whose net-nmconn is disabled keeps working profiles on its
 * clones (net-nmconn, on by default, removes the profiles altogether). */
#include "netcfg.h"
#include "ops.h"

static const char *const ifcfg[] = { "HWADDR=", "MACADDR=", NULL };
static const char *const suse[] = { "LLADDR=", NULL };
static const char *const ifupdown[] = { "hwaddress ", "hwaddress\t", NULL };

static int
unbind_keyfile (const char *path, const char *text, size_t len, char **out, void *data,
                GError **err)
{
  int r = kiln_netcfg_nmconnection (text, len, out, err);

  if (r == -1)
    return -1;
  return r == KILN_NETCFG_CHANGED ? KILN_SYSPREP_EDIT_CHANGE : KILN_SYSPREP_EDIT_KEEP;
}

int
kiln_sysprep_op_net_hwaddr (struct kiln_sysprep_job *j, GError **err)
{
  if (kiln_sysprep_drop_lines_glob (j, "/etc/sysconfig/network-scripts/ifcfg-*", ifcfg, err) == -1 ||
      kiln_sysprep_drop_lines_glob (j, "/etc/sysconfig/network/ifcfg-*", suse, err) == -1 ||
      kiln_sysprep_drop_lines (j, "/etc/network/interfaces", ifupdown, err) == -1 ||
      kiln_sysprep_edit_glob (j, "/etc/NetworkManager/system-connections/*", unbind_keyfile, NULL,
                              err) == -1)
    return -1;
  return kiln_sysprep_drop_lines_glob (j, "/etc/network/interfaces.d/*", ifupdown, err);
}
