/* net-hwaddr.c: HWADDR (and MACADDR) in an ifcfg file bind the interface
 * to the template's MAC: a clone with a new MAC would find no
 * configuration for its NIC (Fedora, Red Hat and their kin). */
#include "ops.h"

static const char *const prefixes[] = { "HWADDR=", "MACADDR=", NULL };

int
kiln_sysprep_op_net_hwaddr (struct kiln_sysprep_job *j, GError **err)
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
