/* domain.h: what verbs other than register and clone need of libvirt. */
#ifndef KILN_DOMAIN_H
#define KILN_DOMAIN_H

#include "kiln.h"

/* The disk paths of domain NAME (on CTX's connection) for an offline edit
 * by customize or sysprep.  Refused (-1/NULL and an error saying what to
 * do) when the domain is running, or when linked clones depend on its
 * disks (the message names them).  Free with g_strfreev. */
char **kiln_domain_disks_for_edit (const struct kiln_ctx *ctx, const char *name,
                                   GError **err);

/* qemu:///system for root, qemu:///session otherwise, unless -c. */
const char *kiln_default_uri (const struct kiln_ctx *ctx);

#endif
