/* ssh-hostkeys.c: the SSH host keys are the machine's identity to every
 * client; clones sharing them can impersonate each other.  Removing them
 * is half the job: Debian's sshd does not start without keys, and only
 * openssh-server's postinst (or cloud-init, when a datasource makes it
 * run) would make new ones.  So unless the guest has its own first-boot
 * key generation (Fedora's and Red Hat's sshd-keygen units), a systemd
 * unit running "ssh-keygen -A" before sshd is installed and enabled.
 * ssh-keygen -A only creates missing keys, so the unit is harmless at
 * every later boot, and a second sysprep finds it in place and changes
 * nothing.  This runs after the customize slot, so keys made by an
 * --install openssh-server in the same run go too. */
#include <string.h>
#include "ops.h"

#define UNIT_NAME "kiln-ssh-hostkeys.service"
#define UNIT_PATH "/etc/systemd/system/" UNIT_NAME

static const char *const keys[] = { "/etc/ssh/*_host_*", NULL };

/* The guest's own ways to make missing keys at boot. */
static const char *const keygen_units[] = {
  "/usr/lib/systemd/system/sshd-keygen@.service",
  "/usr/lib/systemd/system/sshd-keygen.service",
  "/lib/systemd/system/sshd-keygen@.service",
  "/lib/systemd/system/sshd-keygen.service",
  NULL,
};

static const char *
first_existing (struct kiln_sysprep_job *j, const char *const *paths)
{
  for (const char *const *p = paths; *p; p++)
    if (kiln_sysprep_exists (j, *p))
      return *p;
  return NULL;
}

static int
ensure_regeneration (struct kiln_sysprep_job *j, GError **err)
{
  static const char *const sshd[] = { "/usr/sbin/sshd", "/sbin/sshd", NULL };
  static const char *const keygen[] = { "/usr/bin/ssh-keygen", "/bin/ssh-keygen", NULL };
  static const char *const systemd[] = { "/usr/lib/systemd/systemd", "/lib/systemd/systemd", NULL };
  const char *bin;
  g_autofree char *unit = NULL;

  if (first_existing (j, sshd) == NULL || first_existing (j, keygen_units) != NULL)
    return 0;
  bin = first_existing (j, keygen);
  if (bin == NULL || first_existing (j, systemd) == NULL)
    return 0;               /* no systemd: its init script is on its own */
  unit = g_strdup_printf (
    "# Installed by kiln sysprep, which removed this template's SSH host keys:\n"
    "# every clone makes its own at first boot.  ssh-keygen -A creates only the\n"
    "# keys that are missing, so later boots change nothing.\n"
    "[Unit]\n"
    "Description=Generate missing SSH host keys\n"
    "After=cloud-init.service\n"
    "Before=ssh.service sshd.service\n"
    "\n"
    "[Service]\n"
    "Type=oneshot\n"
    "ExecStart=%s -A\n"
    "RemainAfterExit=yes\n"
    "\n"
    "[Install]\n"
    "WantedBy=multi-user.target\n", bin);
  if (kiln_sysprep_write (j, UNIT_PATH, unit, err) == -1)
    return -1;
  return kiln_sysprep_enable_unit (j, UNIT_PATH, err);
}

int
kiln_sysprep_op_ssh_hostkeys (struct kiln_sysprep_job *j, GError **err)
{
  if (kiln_sysprep_remove_globs (j, keys, err) == -1)
    return -1;
  return ensure_regeneration (j, err);
}
