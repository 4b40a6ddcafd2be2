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

/* libvirt's security drivers, as the <secmodel><model> of its capabilities. */
enum {
  KILN_SECMODEL_DAC = 1 << 0,
  KILN_SECMODEL_SELINUX = 1 << 1,
  KILN_SECMODEL_APPARMOR = 1 << 2,
};

/* The security drivers a capabilities document CAPS (XML text) lists, as
 * KILN_SECMODEL_* bits; 0 for none or for text that is not XML. */
unsigned kiln_secmodels_of_caps (const char *caps);

/* The uid and gid CONN runs qemu domains as, from the DAC <baselabel> of
 * its capabilities.  Returns 1 and fills *UID and *GID when there is one, 0
 * when the driver reports none (qemu:///session, the test driver: the
 * domains run as the caller), -1 with ERR when the capabilities cannot be
 * read. */
int kiln_hypervisor_user (virConnectPtr conn, uid_t *uid, gid_t *gid, GError **err);

/* What libvirt's capabilities say about how CONN confines domains, read
 * once (virConnectGetCapabilities costs a round trip and a few ms of
 * XML) and kept by callers that check many files, as kiln clone --count
 * does for each clone. */
struct kiln_hypervisor {
  bool dac;                   /* domains run as UID:GID (else as the caller) */
  uid_t uid;
  gid_t gid;
  unsigned models;            /* KILN_SECMODEL_* */
};

/* Fill *HV from CONN's capabilities.  0, or -1 with ERR (KILN_ERROR_LIBVIRT). */
int kiln_hypervisor_get (virConnectPtr conn, struct kiln_hypervisor *hv, GError **err);

/* kiln_hypervisor_check_reach with capabilities already read. */
int kiln_hypervisor_check_reach_as (const struct kiln_hypervisor *hv, GPtrArray *files,
                                    GError **err);

/* Check that the user CONN runs domains as can search every directory on
 * the way to each file of FILES (absolute paths: a disk first, then its
 * backing chain), and that CONN's security drivers will let qemu use them
 * (kiln_confinement_check).  0 when they will (or when domains run as the
 * caller, unconfined); -1 with ERR (KILN_ERROR_FAILED) naming the first
 * directory the user cannot search, its owner and mode, and the command
 * that fixes it, or the confinement rule that refuses a file. */
int kiln_hypervisor_check_reach (virConnectPtr conn, GPtrArray *files, GError **err);

/* Would confinement refuse FILES (a writable disk first, then its backing
 * chain, read-only) when libvirt's security drivers are MODELS
 * (KILN_SECMODEL_* bits)?  AppArmor: virt-aa-helper writes no rule for a
 * disk whose resolved path is under a system directory (/etc/, /usr/lib,
 * /boot/ for a writable one, ...), so qemu is denied it at start; kiln
 * applies the same list (libvirt's src/security/virt-aa-helper.c,
 * valid_path), on the resolved path of the part of each file that exists
 * (a file yet to be made is judged where it will be).  SELinux: libvirt labels every file of the chain; on NFS,
 * CIFS or FUSE, which keep no labels, confined qemu may use a file only
 * with virt_use_nfs, virt_use_samba or virt_use_fusefs on (read from
 * /sys/fs/selinux/booleans).  0 when nothing refuses; -1 with ERR
 * (KILN_ERROR_FAILED) naming the file, the rule and the fix. */
int kiln_confinement_check (unsigned models, GPtrArray *files, GError **err);

/* The prefix of virt-aa-helper's restricted list PATH (resolved) falls
 * under, for a disk opened READONLY or not; NULL when it may be used
 * (its overrides, and the firmware directories under /usr/share when
 * READONLY); "\"" for a path holding a double quote, which it always
 * refuses.  The string is static. */
const char *kiln_apparmor_refused_prefix (const char *path, bool readonly);

/* The SELinux boolean confined qemu needs to use files on a file system
 * whose statfs(2) f_type is F_TYPE ("virt_use_nfs" for NFS, ...), or NULL
 * when that file system keeps labels.  The string is static. */
const char *kiln_selinux_fs_boolean (unsigned long f_type);

/* The same for IMAGE and its whole backing chain (kiln_image_chain). */
int kiln_hypervisor_check_chain (virConnectPtr conn, const char *image, GError **err);

/* kiln_hypervisor_check_reach for the user UID of primary group GID
 * (and the supplementary groups of its passwd entry). */
int kiln_user_check_reach (GPtrArray *files, uid_t uid, gid_t gid, GError **err);

/* Can that user search directory ST? */
bool kiln_user_can_search (const struct stat *st, uid_t uid, gid_t gid);

#endif
