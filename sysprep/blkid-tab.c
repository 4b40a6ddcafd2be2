/* blkid-tab.c: libblkid's cache names the devices of the machine it was made on. */
#include "ops.h"

static const char *const paths[] = {
  "/var/run/blkid.tab",
  "/var/run/blkid.tab.old",
  "/etc/blkid/blkid.tab",
  "/etc/blkid/blkid.tab.old",
  "/etc/blkid.tab",
  "/etc/blkid.tab.old",
  "/dev/.blkid.tab",
  "/dev/.blkid.tab.old",
  NULL,
};

int
kiln_sysprep_op_blkid_tab (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
