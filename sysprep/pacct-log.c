/* pacct-log.c: process accounting records of the old machine.  The live
 * file is emptied, not removed: accton appends to it and Red Hat's psacct
 * does not recreate it.  Rotated files go. */
#include "ops.h"

static const char *const rotated[] = {
  "/var/account/pacct?*",         /* Red Hat */
  "/var/log/account/pacct?*",     /* Debian */
  NULL,
};

int
kiln_sysprep_op_pacct_log (struct kiln_sysprep_job *j, GError **err)
{
  if (kiln_sysprep_truncate (j, "/var/account/pacct", err) == -1 ||
      kiln_sysprep_truncate (j, "/var/log/account/pacct", err) == -1)
    return -1;
  return kiln_sysprep_remove_globs (j, rotated, err);
}
