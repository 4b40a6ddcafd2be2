/* rpm-db.c: Berkeley DB environment files and locks of rpm; rpm remakes them. */
#include "ops.h"

static const char *const paths[] = {
  "/var/lib/rpm/__db.*",
  "/var/lib/rpm/.dbenv.lock",
  "/var/lib/rpm/.rpm.lock",
  NULL,
};

int
kiln_sysprep_op_rpm_db (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
