/* guest.h: one libguestfs handle over one or more disks, launched with the
 * KVM -> TCG fallback, inspected and mounted.  customize, sysprep and
 * inspect all work on this one handle, so a build launches the appliance
 * once. */
#ifndef KILN_GUEST_H
#define KILN_GUEST_H

#include <guestfs.h>
#include "kiln.h"

typedef struct kiln_guest kiln_guest;
struct kiln_guest {
  guestfs_h *g;
  bool readonly;
  bool network;               /* give the appliance a network (package installs) */
  GPtrArray *disks;           /* char *path */
  GPtrArray *formats;         /* char *format, as detected */
  enum kiln_accel accel;      /* what the appliance runs under, once launched */
  double launch_seconds;

  /* Filled by kiln_guest_inspect. */
  char *root;
  char *type, *distro, *product_name, *hostname, *arch;
  char *package_format, *package_management, *osinfo;
  int major, minor;
  bool mounted;
  /* Set by customize and sysprep when they changed files; with
   * selinux_relabel (the default) kiln_guest_close relabels an SELinux
   * guest once, however many of them ran in this launch. */
  bool changed;
  bool selinux_relabel;
  /* The inspection cache (lib/inspection.h), when the verb turned it on
   * with kiln_guest_cache_inspection. */
  char *inspection_dir;
  char *inspection_key;       /* computed before the launch; NULL: not cached */
  bool inspection_keep;       /* record what libguestfs finds: the disks are
                                 read-only, or empty overlays whose backing
                                 files this run does not change */
  struct kiln_inspection *cached;   /* what kiln_guest_inspect took from the
                                       cache (libguestfs itself has not
                                       inspected: its inspect_* calls fail) */
  bool lists_packages;        /* the caller will read the package list
                                 (kiln_sbom_read_guest): for a package format
                                 other than deb and rpm that is libguestfs'
                                 inspect_list_applications2, which needs its
                                 own inspection, so the cache is not used */
  /* Guest paths (resolved) that customize wrote on purpose in this launch
   * (--ssh-inject's authorized_keys, --write, --upload): a sysprep in the
   * same launch removes everything around them but not them.  NULL: none. */
  GHashTable *kept;
};

struct kiln_guest *kiln_guest_new (bool readonly);
/* Record guest file PATH (resolved through the appliance) in GU->kept. */
void kiln_guest_keep (struct kiln_guest *gu, const char *path);
/* Whether a kept path is PATH itself (*EXACT true) or lies under it. */
bool kiln_guest_holds_kept (struct kiln_guest *gu, const char *path, bool *exact);
void kiln_guest_free (struct kiln_guest *gu);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (kiln_guest, kiln_guest_free)

/* Use the inspection cache (lib/inspection.h) in CTX's cache directory
 * (kiln_cache_dir) for this guest: call before kiln_guest_launch.  Never
 * an error: when the directory cannot be used the guest is inspected as
 * always (a debug message says why). */
void kiln_guest_cache_inspection (struct kiln_guest *gu, const struct kiln_ctx *ctx);

/* Check that PATH exists and is a disk image (qcow2, or raw with a
 * partition table or a filesystem), then add it.  FORMAT NULL: detect. */
int kiln_guest_add_disk (struct kiln_guest *gu, const char *path,
                         const char *format, GError **err);

/* Start the appliance, under KVM or TCG as kiln_accel_resolve says, and
 * once more under TCG when KVM was chosen and the launch failed. */
int kiln_guest_launch (struct kiln_guest *gu, GError **err);

/* Find the operating system.  An image with none is an error.  With the
 * inspection cache on and an entry for these unchanged disks, the answer
 * comes from the entry and libguestfs does not inspect (unless
 * GU->lists_packages and the guest's packages are neither deb nor rpm);
 * otherwise libguestfs inspects and the answer is recorded. */
int kiln_guest_inspect (struct kiln_guest *gu, GError **err);

/* Mount the inspected root's filesystems (read-only if the guest is).
 * Mountpoints from the inspection cache that do not all mount are
 * forgotten, and libguestfs inspects then. */
int kiln_guest_mount (struct kiln_guest *gu, GError **err);

/* Grow the last partition of the first disk to the disk's end, and the
 * filesystem on it (ext2/3/4, xfs, btrfs; an LVM physical volume is grown
 * but not its logical volumes).  Launched, not mounted. */
int kiln_guest_grow_last_partition (struct kiln_guest *gu, GError **err);

/* For a writable guest that customize or sysprep changed (CHANGED) and
 * SELINUX_RELABEL: kiln_guest_selinux_relabel first.  Then unmount, sync
 * and stop the appliance.  For a writable guest an error
 * here means the image may not hold what was written. */
int kiln_guest_close (struct kiln_guest *gu, GError **err);

/* For a guest whose /etc/selinux/config enables SELinux (enforcing or
 * permissive): label every file again from the policy's file_contexts
 * (libguestfs selinux_relabel), as virt-customize does after it changed
 * files, so that what kiln wrote (keys, /etc/shadow, units) is not
 * unlabeled under enforcing mode.  When the appliance cannot (no setfiles,
 * no policy files), create /.autorelabel so that the guest relabels at
 * its next boot, and say so.  A guest without SELinux: nothing.  GU must
 * be mounted read-write.  -1 with ERR only when neither works. */
int kiln_guest_selinux_relabel (struct kiln_guest *gu, GError **err);

/* -x: ON makes every libguestfs handle made afterwards trace its calls
 * (libguestfs prints them on stderr as "libguestfs: trace: ...").  Call
 * before any handle is made; not thread-safe. */
void kiln_guest_trace_calls (bool on);

/* True when guest PATH (absolute; "//etc/./shadow" counts) holds secrets:
 * /etc/shadow, /etc/gshadow, their "-" backups, /etc/security/opasswd,
 * /etc/master.passwd. */
bool kiln_guest_path_secret (const char *path);

/* guestfs_read_file, guestfs_write and guestfs_write_append on G (same results, errors left on
 * the handle; the read's result is malloc'd, for free()), with tracing
 * off for the call when PATH holds secrets (kiln_guest_path_secret), so
 * that neither -x nor LIBGUESTFS_TRACE=1 prints a password hash.  Every
 * read and write of a guest file that may be secret goes through these. */
char *kiln_guest_read_file (guestfs_h *g, const char *path, size_t *len);
int kiln_guest_write_file (guestfs_h *g, const char *path, const char *content, size_t len);
int kiln_guest_append_file (guestfs_h *g, const char *path, const char *content, size_t len);

/* ERR from the handle's last error, prefixed by printf-style context. */
void kiln_guest_set_error (struct kiln_guest *gu, GError **err,
                           const char *fmt, ...) G_GNUC_PRINTF (3, 4);

#endif
