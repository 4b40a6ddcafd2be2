/* machine-id.c: the machine id names the machine to systemd, D-Bus, the
 * journal, DHCP (systemd-networkd's DUID) and more; clones sharing it
 * collide.  /etc/machine-id is left empty, not removed: systemd then
 * makes a new id at first boot and commits it, where a missing file on a
 * read-only root would fail.  D-Bus's copy goes (libdbus falls back to
 * /etc/machine-id), and so does systemd's credential secret, which is
 * per machine too.  This runs after the customize slot, so nothing in the
 * same run can put an id back. */
#include "ops.h"

int
kiln_sysprep_op_machine_id (struct kiln_sysprep_job *j, GError **err)
{
  if (kiln_sysprep_truncate (j, "/etc/machine-id", err) == -1 ||
      kiln_sysprep_remove (j, "/var/lib/dbus/machine-id", err) == -1 ||
      kiln_sysprep_remove (j, "/var/lib/systemd/credential.secret", err) == -1)
    return -1;
  return 0;
}
