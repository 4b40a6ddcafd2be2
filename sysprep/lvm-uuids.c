/* lvm-uuids.c: LVM2 PV and VG UUIDs shared by clones confuse any host or
 * guest that sees two of them (attached disks, migrations).  LVM's devices
 * file lists the template's PV ids, so it goes too (LVM then scans all
 * devices, as before devices files existed).  The filesystems must be
 * unmounted and the logical volumes inactive to change the UUIDs; they are
 * mounted again afterwards, as inspection found them, for what follows:
 * fs-uuids rewrites /etc/fstab only in a mounted guest, and the build's
 * SBOM and SELinux relabel read the files. */
#include "ops.h"

int
kiln_sysprep_op_lvm_uuids (struct kiln_sysprep_job *j, GError **err)
{
  char **pvs = guestfs_pvs (j->g);
  bool any, was_mounted;

  if (pvs == NULL) {
    kiln_guest_set_error (j->gu, err, "%s: cannot list the LVM physical volumes", j->op);
    return -1;
  }
  any = pvs[0] != NULL;
  for (char **p = pvs; *p; p++) {
    if (any)
      kiln_sysprep_note (j, "new UUID for", *p);
    free (*p);
  }
  free (pvs);
  if (!any)
    return 0;
  if (j->gu->mounted &&
      kiln_sysprep_remove (j, "/etc/lvm/devices/system.devices", err) == -1)
    return -1;
  if (j->dry_run)
    return 0;
  was_mounted = j->gu->mounted;
  if (kiln_sysprep_unmount (j, err) == -1)
    return -1;
  /* LVM refuses a new VG UUID while its LVs are active: deactivate them
   * for the change, then bring them back for fs-uuids, which follows. */
  if (guestfs_vg_activate_all (j->g, 0) == -1) {
    kiln_guest_set_error (j->gu, err, "%s: cannot deactivate the logical volumes", j->op);
    return -1;
  }
  if (guestfs_vgchange_uuid_all (j->g) == -1 || guestfs_pvchange_uuid_all (j->g) == -1) {
    kiln_guest_set_error (j->gu, err, "%s: cannot change the LVM UUIDs", j->op);
    guestfs_vg_activate_all (j->g, 1);
    return -1;
  }
  if (guestfs_vg_activate_all (j->g, 1) == -1) {
    kiln_guest_set_error (j->gu, err, "%s: cannot reactivate the logical volumes", j->op);
    return -1;
  }
  return was_mounted ? kiln_guest_mount (j->gu, err) : 0;
}
