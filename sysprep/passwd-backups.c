/* passwd-backups.c: shadow-utils' backups keep old passwords and accounts around. */
#include "ops.h"

static const char *const paths[] = {
  "/etc/group-",
  "/etc/gshadow-",
  "/etc/passwd-",
  "/etc/shadow-",
  "/etc/subuid-",
  "/etc/subgid-",
  NULL,
};

int
kiln_sysprep_op_passwd_backups (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
