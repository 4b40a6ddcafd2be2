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
};

struct kiln_guest *kiln_guest_new (bool readonly);
void kiln_guest_free (struct kiln_guest *gu);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (kiln_guest, kiln_guest_free)

/* Check that PATH exists and is a disk image (qcow2, or raw with a
 * partition table or a filesystem), then add it.  FORMAT NULL: detect. */
int kiln_guest_add_disk (struct kiln_guest *gu, const char *path,
                         const char *format, GError **err);

/* Start the appliance, under KVM or TCG as kiln_accel_resolve says, and
 * once more under TCG when KVM was chosen and the launch failed. */
int kiln_guest_launch (struct kiln_guest *gu, GError **err);

/* Find the operating system.  An image with none is an error. */
int kiln_guest_inspect (struct kiln_guest *gu, GError **err);

/* Mount the inspected root's filesystems (read-only if the guest is). */
int kiln_guest_mount (struct kiln_guest *gu, GError **err);

/* Grow the last partition of the first disk to the disk's end, and the
 * filesystem on it (ext2/3/4, xfs, btrfs; an LVM physical volume is grown
 * but not its logical volumes).  Launched, not mounted. */
int kiln_guest_grow_last_partition (struct kiln_guest *gu, GError **err);

/* Unmount, sync and stop the appliance.  For a writable guest an error
 * here means the image may not hold what was written. */
int kiln_guest_close (struct kiln_guest *gu, GError **err);

/* ERR from the handle's last error, prefixed by printf-style context. */
void kiln_guest_set_error (struct kiln_guest *gu, GError **err,
                           const char *fmt, ...) G_GNUC_PRINTF (3, 4);

#endif
