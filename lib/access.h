/* access.h: can the hypervisor reach a domain's disks?
 *
 * libvirt's qemu driver runs each domain as its own user (libvirt-qemu on
 * Debian), not as root.  With dynamic ownership libvirt hands the image
 * files of a disk's backing chain to that user when the domain starts,
 * but never the directories on the way to them: a chain that goes
 * through a directory that user cannot search fails only at `virsh start`
 * with "Cannot access backing file ... Permission denied" (for example a
 * cache made under umask 077).  register and clone check it first, so
 * the problem is named before anything is defined. */
#ifndef KILN_ACCESS_H
#define KILN_ACCESS_H

#include <sys/stat.h>
#include <libvirt/libvirt.h>
#include "kiln.h"

/* The uid and gid CONN runs qemu domains as, from the DAC <baselabel> of
 * its capabilities.  Returns 1 and fills *UID and *GID when there is one, 0
 * when the driver reports none (qemu:///session, the test driver: the
 * domains run as the caller), -1 with ERR when the capabilities cannot be
 * read. */
int kiln_hypervisor_user (virConnectPtr conn, uid_t *uid, gid_t *gid, GError **err);

/* Check that the user CONN runs domains as can search every directory on
 * the way to each file of FILES (absolute paths: a disk and its backing
 * chain).  0 when it can (or when domains run as the caller); -1 with ERR
 * (KILN_ERROR_FAILED) naming the first directory it cannot search, its
 * owner and mode, and the command that fixes it. */
int kiln_hypervisor_check_reach (virConnectPtr conn, GPtrArray *files, GError **err);

/* The same for IMAGE and its whole backing chain (kiln_image_chain). */
int kiln_hypervisor_check_chain (virConnectPtr conn, const char *image, GError **err);

/* kiln_hypervisor_check_reach for the user UID of primary group GID
 * (and the supplementary groups of its passwd entry). */
int kiln_user_check_reach (GPtrArray *files, uid_t uid, gid_t gid, GError **err);

/* Can that user search directory ST? */
bool kiln_user_can_search (const struct stat *st, uid_t uid, gid_t gid);

#endif
