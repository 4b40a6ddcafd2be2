/* package-manager-cache.c: downloaded packages and metadata caches only
 * make the template bigger and go stale.  The cache directories stay (apt
 * needs archives/partial); every known package manager's cache is
 * cleaned, since a guest may carry more than the one inspection names. */
#include "ops.h"

static const char *const paths[] = {
  "/var/cache/apt/archives/*.deb",
  "/var/cache/apt/archives/partial/*",
  "/var/cache/apt/*.bin",
  "/var/cache/dnf/*",
  "/var/cache/yum/*",
  "/var/cache/zypp/packages/*",
  "/var/cache/zypp/raw/*",
  "/var/cache/apk/*",
  "/var/cache/pacman/pkg/*",
  "/var/cache/urpmi/rpms/*",
  NULL,
};

int
kiln_sysprep_op_package_manager_cache (struct kiln_sysprep_job *j, GError **err)
{
  return kiln_sysprep_remove_globs (j, paths, err);
}
