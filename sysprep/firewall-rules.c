/* firewall-rules.c: custom firewall rules (off by default: removing them may expose the
 * guest). */
#include "ops.h"

static const char *const paths[] = {
  "/etc/sysconfig/iptables",
  "/etc/sysconfig/ip6tables",
  "/etc/firewalld/services/*",
  "/etc/firewalld/zones/*",
  "/etc/firewalld/policies/*",
  "/etc/firewalld/ipsets/*",
  "/etc/firewalld/icmptypes/*",
  "/etc/firewalld/helpers/*",
  NULL,
};

int
kiln_sysprep_op_firewall_rules (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
