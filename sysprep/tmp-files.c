/* tmp-files.c: everything under /tmp and /var/tmp, dotfiles too (a glob
 * would miss .X11-unix leftovers and editors' hidden files); the
 * directories themselves stay, with their sticky modes. */
#include "ops.h"

int
kiln_sysprep_op_tmp_files (struct kiln_sysprep_job *j, GError **err)
{
  if (kiln_sysprep_empty_dir (j, "/tmp", err) == -1)
    return -1;
  return kiln_sysprep_empty_dir (j, "/var/tmp", err);
}
