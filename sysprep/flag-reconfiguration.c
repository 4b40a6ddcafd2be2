/* flag-reconfiguration.c: /.unconfigured makes Red Hat's initial-setup
 * ask for the root password, timezone... at first boot (off by default:
 * it needs a person at the console). */
#include "ops.h"

int
kiln_sysprep_op_flag_reconfiguration (struct kiln_sysprep_job *j, GError **err)
{
  if (kiln_sysprep_exists (j, "/.unconfigured"))
    return 0;
  return kiln_sysprep_write (j, "/.unconfigured", "", err);
}
