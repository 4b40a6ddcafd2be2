/* net-hostname.c: a HOSTNAME or DHCP_HOSTNAME in an ifcfg file would give
 * every clone the template's name (Fedora, Red Hat and their kin). */
#include "ops.h"

static const char *const prefixes[] = { "HOSTNAME=", "DHCP_HOSTNAME=", NULL };

int
kiln_sysprep_op_net_hostname (struct kiln_sysprep_job *j, GError **err)
{
  char **files = guestfs_glob_expand (j->g, "/etc/sysconfig/network-scripts/ifcfg-*");
  int r = 0;

  if (files == NULL) {
    kiln_guest_set_error (j->gu, err, "%s: cannot list the ifcfg files", j->op);
    return -1;
  }
  for (char **f = files; *f; f++) {
    if (r == 0)
      r = kiln_sysprep_drop_lines (j, *f, prefixes, err);
    free (*f);
  }
  free (files);
  return r;
}
