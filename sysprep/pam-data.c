/* pam-data.c: PAM's per-login state (console ownership, failed logins). */
#include "ops.h"

static const char *const paths[] = {
  "/var/run/console/*",
  "/var/run/faillock/*",
  "/var/run/sepermit/*",
  "/var/lib/faillock/*",
  NULL,
};

int
kiln_sysprep_op_pam_data (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
