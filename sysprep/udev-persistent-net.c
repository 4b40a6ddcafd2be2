/* udev-persistent-net.c: these rules pin the old MAC to eth0, so a clone's new MAC would
 * become eth1. */
#include "ops.h"

static const char *const paths[] = {
  "/etc/udev/rules.d/70-persistent-net.rules",
  NULL,
};

int
kiln_sysprep_op_udev_persistent_net (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
