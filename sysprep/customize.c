/* customize.c: the customize slot: the customize operations given on the
 * command line (or by a recipe) run here, after the file operations and
 * before the identity and disk-level ones, in the same appliance. */
#include "ops.h"

int
kiln_sysprep_op_customize (struct kiln_sysprep_job *j, GError **err)
{
  if (j->custom == NULL || kiln_customize_is_empty (j->custom))
    return 0;
  return kiln_customize_apply (j->custom, j->gu, j->dry_run, err);
}
