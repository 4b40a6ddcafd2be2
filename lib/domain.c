/* domain.c: placeholder for the libvirt side used by customize and
 * sysprep -d; the clone work replaces it. */
#include <unistd.h>
#include "domain.h"

const char *
kiln_default_uri (const struct kiln_ctx *ctx)
{
  if (ctx->connect_uri)
    return ctx->connect_uri;
  return geteuid () == 0 ? "qemu:///system" : "qemu:///session";
}

char **
kiln_domain_disks_for_edit (const struct kiln_ctx *ctx, const char *name, GError **err)
{
  g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "-d DOMAIN is not implemented yet");
  return NULL;
}
