/* rh-subscription-manager.c: a subscription's consumer identity and entitlements are per system. */
#include "ops.h"

static const char *const paths[] = {
  "/etc/pki/consumer/*",
  "/etc/pki/entitlement/*",
  NULL,
};

int
kiln_sysprep_op_rh_subscription_manager (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
