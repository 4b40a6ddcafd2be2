/* cloud-init.c: cloud-init keeps its instance id, the datasource it found,
 * its seed and the semaphores of what already ran under /var/lib/cloud; a
 * clone carrying them skips its own first-boot setup.  The directory stays
 * (cloud-init expects it); its contents and cloud-init's logs go. */
#include "ops.h"

static const char *const logs[] = {
  "/var/log/cloud-init.log*",
  "/var/log/cloud-init-output.log*",
  NULL,
};

int
kiln_sysprep_op_cloud_init (struct kiln_sysprep_job *j, GError **err)
{
  if (kiln_sysprep_empty_dir (j, "/var/lib/cloud", err) == -1)
    return -1;
  return kiln_sysprep_remove_globs (j, logs, err);
}
