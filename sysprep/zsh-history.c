/* zsh-history.c: a user's shell history does not belong in a template. */
#include "ops.h"

static const char *const paths[] = {
  "/root/.zsh_history",
  "/root/.zhistory",
  "/home/*/.zsh_history",
  "/home/*/.zhistory",
  NULL,
};

int
kiln_sysprep_op_zsh_history (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
