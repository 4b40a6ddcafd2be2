/* ssh-userdir.c: users' ssh keys, known hosts and authorized keys stay out of templates. */
#include "ops.h"

static const char *const paths[] = {
  "/root/.ssh",
  "/home/*/.ssh",
  NULL,
};

int
kiln_sysprep_op_ssh_userdir (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
