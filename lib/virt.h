/* virt.h: the libvirt connection kiln uses, and libvirt's errors turned
 * into GErrors (libvirt's own printing to stderr is silenced, so that the
 * verb says what failed once). */
#ifndef KILN_VIRT_H
#define KILN_VIRT_H

#include <libvirt/libvirt.h>
#include "kiln.h"

/* qemu:///system for root, qemu:///session otherwise, unless -c. */
const char *kiln_default_uri (const struct kiln_ctx *ctx);

/* Open kiln_default_uri (CTX) (or URI when not NULL), read-write. */
virConnectPtr kiln_virt_open (const struct kiln_ctx *ctx, const char *uri, GError **err);

/* Silence libvirt's default error printing (idempotent); kiln_virt_open
 * calls it, tests that use libvirt directly may too. */
void kiln_virt_quiet (void);

/* ERR = "CONTEXT: libvirt's last error message", code KILN_ERROR_LIBVIRT
 * (KILN_ERROR_NOT_FOUND for missing domains, pools, volumes). */
void kiln_virt_set_error (GError **err, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

/* kiln_virt_set_error with "WHAT domain 'NAME'" as the context, keeping
 * libvirt's error across the virDomainGetName call (which resets it):
 * never pass virDomainGetName (DOM) to kiln_virt_set_error directly. */
void kiln_virt_set_domain_error (GError **err, virDomainPtr dom, const char *what);

/* Is a connection to URI local, i.e. does its hypervisor see kiln's own
 * filesystem, so that a disk's path means the same file on both sides?
 * The rule, from the URI alone: local when it names no host and no
 * transport other than unix ("qemu:///system", "qemu+unix:///session",
 * "test:///default"); remote otherwise, "qemu+ssh://localhost/system" and
 * "qemu://127.0.0.1/system" included (ssh may land in another container
 * or chroot: a host name proves nothing about the filesystem).  The
 * environment variable KILN_LIBVIRT_REMOTE overrides the rule: "1" or
 * "yes" treats every connection as remote, "0" or "no" as local. */
bool kiln_virt_uri_is_local (const char *uri);

/* kiln_virt_uri_is_local of the URI CONN is connected to (as libvirt
 * reports it: virConnectGetURI); a URI that cannot be read is remote (the
 * storage API works on both sides, the local filesystem only on one). */
bool kiln_virt_is_local (virConnectPtr conn);

/* Why kiln_virt_uri_is_local said "remote", for messages: a static
 * string, "KILN_LIBVIRT_REMOTE says so" when the environment decided,
 * else "its URI names a host or a transport". */
const char *kiln_virt_remote_why (void);

/* Domain NAME on CONN, or NULL and ERR (KILN_ERROR_NOT_FOUND) naming the URI. */
virDomainPtr kiln_virt_lookup (virConnectPtr conn, const char *name, GError **err);

/* Undefine DOM with its NVRAM and metadata of snapshots, checkpoints and
 * managed save (the flags the test driver lacks are dropped). */
int kiln_virt_undefine (virDomainPtr dom, GError **err);

#endif
