/* firstboot-identity.c: a clone made by kiln clone --hostname, --ssh-inject
 * or --ip carries its identity in SMBIOS type 11 OEM strings of its domain
 * XML (lib/identity.h), not in its disk: the clone is an overlay made in
 * milliseconds, and writing into it would take an appliance launch per
 * clone.  This operation installs what applies them inside the guest: a
 * small POSIX sh script that reads /sys/firmware/dmi/entries/11-*\/raw
 * (dmidecode if present, when sysfs has none) and a systemd unit that
 * runs it at every boot before the network, sshd and the gettys come up.
 * The script changes only what differs, so later boots (and a second
 * sysprep) change nothing.  Once the unit is in place, the image file is
 * marked (KILN_IDENTITY_XATTR) so that kiln clone can check a template
 * without opening it.  Guests without systemd are left alone. */
#include <string.h>
#include "ops.h"
#include "event.h"
#include "identity.h"

#define SCRIPT_PATH "/usr/lib/kiln/kiln-identity"
#define UNIT_NAME "kiln-identity.service"
#define UNIT_PATH "/etc/systemd/system/" UNIT_NAME

const char kiln_identity_script[] =
  "#!/bin/sh\n"
  "# kiln-identity: installed by kiln sysprep (operation firstboot-identity).\n"
  "# Applies the identity that kiln clone gave this machine as SMBIOS type 11\n"
  "# OEM strings, read from the firmware tables without network:\n"
  "#   kiln.hostname=NAME  kiln.ssh-key=USER:KEY  kiln.ip=ADDR/PREFIX[,GATEWAY]\n"
  "# Safe at every boot: it changes only what differs.\n"
  "R=${KILN_IDENTITY_ROOT:-}\n"
  "DMI=${KILN_IDENTITY_DMI:-/sys/firmware/dmi/entries}\n"
  "NET=${KILN_IDENTITY_NET:-/sys/class/net}\n"
  "\n"
  "oem_strings() {\n"
  "    found=\n"
  "    for raw in \"$DMI\"/11-*/raw; do\n"
  "        [ -r \"$raw\" ] || continue\n"
  "        found=1\n"
  "        len=$(od -An -tu1 -j1 -N1 \"$raw\" | tr -d ' ')\n"
  "        [ -n \"$len\" ] && tail -c +\"$((len + 1))\" \"$raw\" | tr '\\000' '\\n'\n"
  "    done\n"
  "    if [ -z \"$found\" ] && command -v dmidecode >/dev/null 2>&1; then\n"
  "        dmidecode -q -t 11 | sed -n 's/^[[:space:]]*String [0-9]*: //p'\n"
  "    fi\n"
  "}\n"
  "\n"
  "# FILE CONTENT: replace FILE when its content differs; 0 if it changed.\n"
  "put() {\n"
  "    if [ -f \"$1\" ] && [ \"$(cat \"$1\")\" = \"$2\" ]; then\n"
  "        return 1\n"
  "    fi\n"
  "    mkdir -p \"$(dirname \"$1\")\" &&\n"
  "        printf '%s\\n' \"$2\" >\"$1.kiln-new\" && mv -f \"$1.kiln-new\" \"$1\" &&\n"
  "        echo \"kiln-identity: wrote ${1#$R}\"\n"
  "}\n"
  "\n"
  "set_hostname() {\n"
  "    case $1 in ''|-*|*[!A-Za-z0-9.-]*) echo \"kiln-identity: ignoring host name '$1'\" >&2; return ;; esac\n"
  "    put \"$R/etc/hostname\" \"$1\"\n"
  "    if [ -f \"$R/etc/hosts\" ]; then\n"
  "        hosts=$(sed \"s/^127\\.0\\.1\\.1[[:space:]].*/127.0.1.1\t$1/\" \"$R/etc/hosts\")\n"
  "        grep -q '^127\\.0\\.1\\.1[[:space:]]' \"$R/etc/hosts\" || hosts=\"$hosts\n"
  "127.0.1.1\t$1\"\n"
  "        put \"$R/etc/hosts\" \"$hosts\"\n"
  "    fi\n"
  "    [ -n \"$R\" ] || printf '%s' \"$1\" >/proc/sys/kernel/hostname\n"
  "}\n"
  "\n"
  "add_key() {\n"
  "    user=${1%%:*} key=${1#*:}\n"
  "    ent=$(awk -F: -v u=\"$user\" '$1 == u { print; exit }' \"$R/etc/passwd\")\n"
  "    if [ -z \"$ent\" ]; then\n"
  "        echo \"kiln-identity: no local user '$user' for an SSH key\" >&2\n"
  "        return\n"
  "    fi\n"
  "    ids=$(echo \"$ent\" | cut -d: -f3,4) home=$(echo \"$ent\" | cut -d: -f6)\n"
  "    d=$R$home/.ssh\n"
  "    mkdir -p \"$d\" && chmod 700 \"$d\" && chown \"$ids\" \"$d\"\n"
  "    touch \"$d/authorized_keys\"\n"
  "    if ! grep -qxF \"$key\" \"$d/authorized_keys\"; then\n"
  "        printf '%s\\n' \"$key\" >>\"$d/authorized_keys\"\n"
  "        echo \"kiln-identity: added an SSH key for $user\"\n"
  "    fi\n"
  "    chmod 600 \"$d/authorized_keys\" && chown \"$ids\" \"$d/authorized_keys\"\n"
  "}\n"
  "\n"
  "set_ip() {\n"
  "    addr=${1%%,*} gw=\n"
  "    case $1 in *,*) gw=${1#*,} ;; esac\n"
  "    nic=\n"
  "    for n in \"$NET\"/*; do\n"
  "        [ -e \"$n/device\" ] && { nic=${n##*/}; break; }\n"
  "    done\n"
  "    [ -n \"$nic\" ] || { echo \"kiln-identity: no network interface for $addr\" >&2; return; }\n"
  "    if [ -e \"$R/etc/systemd/system/multi-user.target.wants/systemd-networkd.service\" ] ||\n"
  "       [ -d \"$R/etc/netplan\" ] && [ -d \"$R/etc/systemd/network\" ]; then\n"
  "        put \"$R/etc/systemd/network/10-kiln-identity.network\" \"[Match]\n"
  "Name=$nic\n"
  "\n"
  "[Network]\n"
  "Address=$addr${gw:+\n"
  "Gateway=$gw}\"\n"
  "    elif [ -f \"$R/etc/network/interfaces\" ]; then\n"
  "        fam=inet\n"
  "        case $addr in *:*) fam=inet6 ;; esac\n"
  "        put \"$R/etc/network/interfaces.d/kiln-identity\" \"auto $nic\n"
  "iface $nic $fam static\n"
  "    address $addr${gw:+\n"
  "    gateway $gw}\"\n"
  "        grep -q '^[[:space:]]*source[[:space:]].*interfaces\\.d' \"$R/etc/network/interfaces\" ||\n"
  "            echo 'source /etc/network/interfaces.d/*' >>\"$R/etc/network/interfaces\"\n"
  "    else\n"
  "        echo \"kiln-identity: no systemd-networkd or ifupdown configuration for $addr\" >&2\n"
  "    fi\n"
  "}\n"
  "\n"
  "oem_strings | while IFS= read -r line; do\n"
  "    case $line in\n"
  "        kiln.hostname=*) set_hostname \"${line#kiln.hostname=}\" ;;\n"
  "        kiln.ssh-key=*) add_key \"${line#kiln.ssh-key=}\" ;;\n"
  "        kiln.ip=*) set_ip \"${line#kiln.ip=}\" ;;\n"
  "    esac\n"
  "done\n"
  "exit 0\n";

static const char unit[] =
  "# Installed by kiln sysprep: applies the host name, SSH keys and address\n"
  "# that kiln clone put in this machine's SMBIOS OEM strings.  Safe at every\n"
  "# boot: it changes only what differs.\n"
  "[Unit]\n"
  "Description=Apply the identity kiln clone gave this machine\n"
  "DefaultDependencies=no\n"
  "After=local-fs.target systemd-remount-fs.service\n"
  "Before=network-pre.target systemd-networkd.service networking.service ssh.service sshd.service\n"
  "Before=systemd-user-sessions.service getty.target serial-getty@ttyS0.service shutdown.target\n"
  "Wants=network-pre.target\n"
  "Conflicts=shutdown.target\n"
  "\n"
  "[Service]\n"
  "Type=oneshot\n"
  "ExecStart=/bin/sh " SCRIPT_PATH "\n"
  "RemainAfterExit=yes\n"
  "\n"
  "[Install]\n"
  "WantedBy=multi-user.target\n";

int
kiln_sysprep_op_firstboot_identity (struct kiln_sysprep_job *j, GError **err)
{
  if (!kiln_sysprep_exists (j, "/usr/lib/systemd/systemd") &&
      !kiln_sysprep_exists (j, "/lib/systemd/systemd"))
    return 0;
  if (kiln_sysprep_write (j, SCRIPT_PATH, kiln_identity_script, err) == -1 ||
      kiln_sysprep_write (j, UNIT_PATH, unit, err) == -1 ||
      kiln_sysprep_enable_unit (j, UNIT_PATH, err) == -1)
    return -1;
  if (j->dry_run)
    return 0;
  for (guint i = 0; j->gu->disks && i < j->gu->disks->len; i++) {
    g_autoptr (GError) e = NULL;

    if (kiln_identity_mark_image (j->gu->disks->pdata[i], &e) == -1)
      kiln_event_warning ("sysprep", "%s; kiln clone --hostname will refuse this image",
                          e->message);
  }
  return 0;
}
