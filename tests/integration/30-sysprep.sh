#!/bin/bash
# kiln sysprep on an overlay of the real Debian 12 fixture: plant the dirt
# each default operation removes (one guestfish session), list it with
# --dry-run (the image stays bit-for-bit the same), run kiln sysprep once,
# read everything back with one guestfish session: each operation removed
# its dirt, the rest of /etc is untouched, off-by-default operations did
# nothing, and a second dry run finds nothing left to do.  Then
# --operations ssh-hostkeys on the phony-debian image touches only the keys;
# lvm-uuids and fs-uuids on an LVM guest.
. "$(dirname "$0")/lib.sh"
set -u

require_root
require_cmd guestfish qemu-img sha256sum
export KILN_ACCEL=tcg

# ---- the command line, without an appliance ----
out=$("$KILN" sysprep --list-operations 2>&1)
ok $? "--list-operations exits 0"
like "$out" $'(^|\n)ssh-hostkeys \\* ' "--list-operations marks ssh-hostkeys as default (*)"
like "$out" $'(^|\n)user-account   Remove' "--list-operations shows user-account as not default"
is "$(grep -c . <<<"$out")" 47 "--list-operations lists 47 operations"
for name in cloud-init machine-id fs-uuids lvm-uuids customize zsh-history net-nmconn; do
    grep -q "^$name " <<<"$out" || { diag "missing: $name"; false; }
done
ok $? "--list-operations includes cloud-init, machine-id, fs-uuids, lvm-uuids, customize..."
json=$("$KILN" --json sysprep --list-operations | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(len(d), sum(o["default"] for o in d), [o["phase"] for o in d if o["name"] == "machine-id"][0])')
is "$json" "47 41 identity" "--json --list-operations: 47 operations, 41 by default, machine-id in the identity phase"

"$KILN" sysprep -a /nonexistent --operations defaults,bogus,-nope >"$T/err" 2>&1
is $? 2 "unknown operation names: exit 2"
like "$(cat "$T/err")" "'bogus'.*'nope'" "... and the message names each of them"
"$KILN" sysprep >"$T/err" 2>&1
is $? 2 "no -a and no -d: exit 2"
fixture_synthetic not-a-disk "$T/text.img"
"$KILN" sysprep -a "$T/text.img" >"$T/err" 2>&1
isnt $? 0 "-a on a text file fails"
like "$(cat "$T/err")" "not a disk image" "... saying it is not a disk image"
"$KILN" sysprep -a "$T/text.img" -d nosuchdomain >"$T/err" 2>&1
is $? 2 "-a and -d together: exit 2"

# ---- plant the dirt on an overlay of the Debian fixture ----
base=$(fixture_debian) || bail_out "no Debian fixture"
img=$T/debian.qcow2
overlay_of "$base" "$img"

guestfish -a "$img" -i >"$T/before.sums" 2>"$T/plant.err" <<'GF'
mkdir-p /var/spool/abrt/ccpp-1
write /var/spool/abrt/ccpp-1/coredump "core"
write /etc/kiln-test.conf.bak "old"
write /etc/kiln-test.conf~ "old"
write /root/notes.txt~ "old"
write /root/.bash_history "ls\n"
mkdir-p /home/debian
write /home/debian/.bash_history "history\n"
write /etc/blkid.tab "<device>"
mkdir-p /var/lib/cloud/instances/iid-1
write /var/lib/cloud/instances/iid-1/obj.pkl "pickle"
mkdir-p /var/lib/cloud/seed/nocloud
write /var/lib/cloud/seed/nocloud/meta-data "instance-id: iid-1\n"
write /var/log/cloud-init.log "cloud-init ran\n"
write /var/log/cloud-init-output.log "cloud-init output\n"
mkdir-p /var/crash
write /var/crash/core.1 "core"
mkdir-p /var/spool/cron/crontabs
write /var/spool/cron/crontabs/root "* * * * * true\n"
mkdir-p /var/lib/dhcp
write /var/lib/dhcp/dhclient.eth0.leases "lease { fixed-address 10.0.2.15; }\n"
mkdir-p /var/lib/dhcpd
write /var/lib/dhcpd/dhcpd.leases "lease 10.0.2.16 {}\n"
mkdir-p /var/lib/dovecot
write /var/lib/dovecot/instances "x"
mkdir-p /etc/ipa
write /etc/ipa/default.conf "[global]\n"
write /etc/krb5.keytab "keytab"
write /var/log/syslog "syslog line\n"
write /var/log/kiln-test.log "log line\n"
mkdir-p /var/log/apt
write /var/log/apt/term.log "apt\n"
mkdir-p /var/log/journal/0123456789abcdef0123456789abcdef
write /var/log/journal/0123456789abcdef0123456789abcdef/system.journal "journal"
mkdir-p /var/mail
write /var/mail/root "From root\n"
mkdir-p /etc/sysconfig/network-scripts
write /etc/sysconfig/network-scripts/ifcfg-eth0 "DEVICE=eth0\nHWADDR=52:54:00:12:34:56\nHOSTNAME=template\nDHCP_HOSTNAME=template\nBOOTPROTO=dhcp\n"
mkdir-p /etc/NetworkManager/system-connections
write /etc/NetworkManager/system-connections/eth0.nmconnection "[connection]\nid=eth0\n[ethernet]\nmac-address=52:54:00:12:34:56\n"
mkdir-p /etc/netplan
write /etc/netplan/50-cloud-init.yaml "network:\n    ethernets:\n        enp1s0:\n            dhcp4: true\n            match:\n                macaddress: '52:54:00:12:34:56'\n            set-name: enp1s0\n    version: 2\n"
chmod 0600 /etc/netplan/50-cloud-init.yaml
mkdir-p /etc/systemd/network
write /etc/systemd/network/10-lan.link "[Match]\nMACAddress=52:54:00:12:34:56\n[Link]\nName=lan0\n"
write /etc/systemd/network/20-lan.network "[Match]\nMACAddress=52:54:00:12:34:56\n\n[Network]\nDHCP=yes\n"
mkdir-p /etc/network/interfaces.d
write /etc/network/interfaces.d/eth0 "auto eth0\niface eth0 inet dhcp\n    hwaddress ether 52:54:00:12:34:56\n"
mkdir-p /var/log/account
write /var/log/account/pacct "acct records"
write /var/log/account/pacct.0 "old acct records"
mkdir-p /var/cache/apt/archives/partial
write /var/cache/apt/archives/kiln_1.0_all.deb "deb"
mkdir-p /run/faillock
write /run/faillock/root "faillock"
write /run/utmp "utmp"
write /etc/passwd- "root:x:0:0::/root:/bin/sh\n"
mkdir-p /var/log/puppet
write /var/log/puppet/puppet.log "puppet\n"
mkdir-p /etc/pki/consumer
write /etc/pki/consumer/cert.pem "cert"
mkdir-p /etc/sysconfig/rhn
write /etc/sysconfig/rhn/systemid "id"
mkdir-p /var/lib/rpm
write /var/lib/rpm/__db.001 "db"
mkdir-p /var/log/samba
write /var/log/samba/log.smbd "smbd\n"
mkdir-p /etc/smolt
write /etc/smolt/uuid "uuid"
mkdir-p /root/.ssh
write /root/.ssh/authorized_keys "ssh-ed25519 AAAA test\n"
mkdir-p /home/debian/.ssh
write /home/debian/.ssh/id_ed25519 "private"
mkdir-p /var/log/sssd
write /var/log/sssd/sssd.log "sssd\n"
write /tmp/junk "junk"
mkdir-p /tmp/.hidden-dir
write /tmp/.hidden-dir/x "x"
write /var/tmp/junk "junk"
mkdir-p /etc/udev/rules.d
write /etc/udev/rules.d/70-persistent-net.rules "SUBSYSTEM==\"net\", ATTR{address}==\"52:54:00:12:34:56\", NAME=\"eth0\"\n"
mkdir-p /var/lib/yum
write /var/lib/yum/uuid "uuid"
write /root/.zsh_history "zsh\n"
mkdir-p /var/lib/dbus
-rm-f /var/lib/dbus/machine-id
write /var/lib/dbus/machine-id "0123456789abcdef0123456789abcdef\n"
mkdir-p /etc/firewalld/zones
write /etc/firewalld/zones/public.xml "<zone/>"
mkdir-p /etc/pki/tls/private
write /etc/pki/tls/private/kiln.key "key"
mkdir-p /etc/krb5kdc
write /etc/krb5kdc/principal "kdc db"
checksums-out sha256 /etc -
GF
ok $? "planted the dirt with one guestfish session" || diag "$(cat "$T/plant.err")"

# ---- --dry-run: lists, changes nothing ----
sum_before=$(sha256sum <"$img")
"$KILN" sysprep -a "$img" --dry-run >"$T/dry.out" 2>"$T/dry.err"
ok $? "kiln sysprep --dry-run exits 0" || diag "$(cat "$T/dry.err")"
is "$(sha256sum <"$img")" "$sum_before" "--dry-run leaves the image bit-for-bit unchanged"
dry=$(cat "$T/dry.out")
for line in "tmp-files: remove /tmp/junk" "tmp-files: remove /tmp/.hidden-dir" \
            "machine-id: empty /etc/machine-id" "machine-id: remove /var/lib/dbus/machine-id" \
            "ssh-hostkeys: remove /etc/ssh/ssh_host_ed25519_key" \
            "ssh-hostkeys: create /etc/systemd/system/kiln-ssh-hostkeys.service" \
            "cloud-init: remove /var/lib/cloud/instances" "net-hwaddr: change /etc/sysconfig/network-scripts/ifcfg-eth0" \
            "net-hwaddr: change /etc/network/interfaces.d/eth0" "net-netplan: change /etc/netplan/50-cloud-init.yaml" \
            "net-hwaddr: change /etc/NetworkManager/system-connections/eth0.nmconnection" \
            "net-nmconn: remove /etc/NetworkManager/system-connections/eth0.nmconnection" \
            "net-networkd: remove /etc/systemd/network/10-lan.link" "net-networkd: change /etc/systemd/network/20-lan.network" \
            "pacct-log: empty /var/log/account/pacct" "utmp: remove /run/utmp"; do
    grep -qxF "$line" <<<"$dry" || { diag "dry run lacks: $line"; false; }
done
ok $? "--dry-run lists what each operation would remove or change"
unlike "$dry" "firewall-rules|ca-certificates|kerberos-data:|user-account" "--dry-run lists no off-by-default operation"

# ---- the real run ----
t0=$(date +%s.%N)
"$KILN" sysprep -a "$img" >"$T/run.out" 2>"$T/run.err"
ok $? "kiln sysprep with the default operations exits 0" || diag "$(tail -n 20 "$T/run.err")"
note "kiln sysprep took $(echo "$(date +%s.%N) - $t0" | bc) s"

# ---- read back with one guestfish session ----
dirt=(/var/spool/abrt/ccpp-1 /etc/kiln-test.conf.bak /etc/kiln-test.conf~ /root/notes.txt~
      /root/.bash_history /home/debian/.bash_history /etc/blkid.tab /var/lib/cloud/instances
      /var/lib/cloud/seed /var/log/cloud-init.log /var/log/cloud-init-output.log /var/crash/core.1
      /var/spool/cron/crontabs/root /var/lib/dhcp/dhclient.eth0.leases /var/lib/dhcpd/dhcpd.leases
      /var/lib/dovecot/instances /etc/ipa/default.conf /etc/krb5.keytab /var/log/syslog
      /var/log/kiln-test.log /var/log/apt/term.log /var/log/journal/0123456789abcdef0123456789abcdef
      /var/mail/root /etc/NetworkManager/system-connections/eth0.nmconnection
      /var/log/account/pacct.0 /var/cache/apt/archives/kiln_1.0_all.deb /run/faillock/root
      /run/utmp /etc/passwd- /var/log/puppet/puppet.log /etc/pki/consumer/cert.pem
      /etc/sysconfig/rhn/systemid /var/lib/rpm/__db.001 /var/log/samba/log.smbd /etc/smolt/uuid
      /root/.ssh /home/debian/.ssh /var/log/sssd/sssd.log /tmp/junk /tmp/.hidden-dir /var/tmp/junk
      /etc/udev/rules.d/70-persistent-net.rules /var/lib/yum/uuid /root/.zsh_history
      /var/lib/dbus/machine-id /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_rsa_key.pub)
keep=(/tmp /var/tmp /var/spool/cron/crontabs /var/lib/cloud /var/log/journal /var/log/apt
      /var/cache/apt/archives/partial /home/debian /var/lib/dhcp /etc/ssh/sshd_config
      /etc/NetworkManager/system-connections /var/log/account/pacct /root /etc/passwd)
{
    for p in "${dirt[@]}"; do echo "echo dirt $p"; echo "-exists $p"; done
    for p in "${keep[@]}"; do echo "echo keep $p"; echo "-exists $p"; done
    echo "echo ==machine-id"; echo "-filesize /etc/machine-id"
    echo "echo ==pacct"; echo "-filesize /var/log/account/pacct"
    echo "echo ==tmpmode"; echo "-stat /tmp"
    echo "echo ==ifcfg"; echo "-cat /etc/sysconfig/network-scripts/ifcfg-eth0"
    echo "echo ==unit"; echo "-cat /etc/systemd/system/kiln-ssh-hostkeys.service"
    echo "echo ==netplan"; echo "-cat /etc/netplan/50-cloud-init.yaml"
    echo "echo ==netplanmode"; echo "-stat /etc/netplan/50-cloud-init.yaml"
    echo "echo ==networkd"; echo "-cat /etc/systemd/network/20-lan.network"
    echo "echo ==link"; echo "-exists /etc/systemd/network/10-lan.link"
    echo "echo ==ifupdown"; echo "-cat /etc/network/interfaces.d/eth0"
    echo "echo ==wants"; echo "-readlink /etc/systemd/system/multi-user.target.wants/kiln-ssh-hostkeys.service"
    echo "echo ==sums"; echo "checksums-out sha256 /etc -"
} >"$T/readback.gf"
guestfish --ro -a "$img" -i <"$T/readback.gf" >"$T/after.out" 2>"$T/readback.err"
ok $? "read back with one guestfish session" || diag "$(cat "$T/readback.err")"

left=$(awk '$1 == "dirt" { p = $2; getline; if ($0 != "false") print p }' "$T/after.out")
is "$left" "" "every planted file and directory is gone"
lost=$(awk '$1 == "keep" { p = $2; getline; if ($0 != "true") print p }' "$T/after.out")
is "$lost" "" "the directories and files that must stay are there"
section() { awk -v s="==$1" '$0 == s { on = 1; next } /^==/ { on = 0 } on' "$T/after.out"; }
is "$(section machine-id)" 0 "/etc/machine-id is empty"
is "$(section pacct)" 0 "the accounting log is emptied, not removed"
like "$(section tmpmode)" "mode: 17407" "/tmp keeps its sticky mode (041777 is 17407)"
is "$(section ifcfg)" $'DEVICE=eth0\nBOOTPROTO=dhcp' "ifcfg-eth0 lost HWADDR, HOSTNAME and DHCP_HOSTNAME, kept the rest"
is "$(section netplan)" $'network:\n  ethernets:\n    enp1s0:\n      dhcp4: true\n      match:\n        name: enp1s0\n  version: 2' \
    "netplan: cloud-init's MAC match became a match on the name it set"
like "$(section netplanmode)" "mode: 33152" "... and the file stays 0600 (0100600 is 33152)"
is "$(section networkd)" $'[Match]\nType=ether\n\n[Network]\nDHCP=yes' "networkd: a .network matched by MAC matches any Ethernet NIC"
is "$(section link)" false "networkd: the .link renaming the template's NIC by MAC is gone"
is "$(section ifupdown)" $'auto eth0\niface eth0 inet dhcp' "ifupdown: the hwaddress option is gone"
like "$(section unit)" "ExecStart=/usr/bin/ssh-keygen -A" "a first-boot unit regenerates the host keys"
like "$(section unit)" "Before=ssh.service" "... before sshd starts"
is "$(section wants)" /etc/systemd/system/kiln-ssh-hostkeys.service "... and it is enabled"

# The rest of /etc: the same, apart from what the operations own.
legit='^[0-9a-f]+  \./(ssh/ssh_host_|machine-id$|kiln-test\.conf|blkid\.tab$|ipa/|krb5\.keytab$|sysconfig/network-scripts/ifcfg-eth0$|netplan/|systemd/network/|network/interfaces\.d/eth0$|NetworkManager/system-connections/|(passwd|group|shadow|gshadow|subuid|subgid)-$|pki/consumer/|sysconfig/rhn/|smolt/|udev/rules\.d/70-persistent-net\.rules$|systemd/system/kiln-(ssh-hostkeys|identity)\.service$)'
grep -Ev "$legit" "$T/before.sums" | sort >"$T/etc.before"
section sums | grep -Ev "$legit" | sort >"$T/etc.after"
ok_cmd "nothing else in /etc changed (off-by-default firewall-rules, ca-certificates, kerberos-data, user-account did nothing)" \
    diff "$T/etc.before" "$T/etc.after"
[ "$(wc -l <"$T/etc.before")" -gt 100 ] && grep -q 'firewalld/zones/public.xml' "$T/etc.before"
ok $? "... and the comparison covered /etc ($(wc -l <"$T/etc.before") files, the planted controls too)"

# A second run has nothing left to do (idempotent, the unit included).
"$KILN" sysprep -a "$img" -n >"$T/dry2.out" 2>"$T/dry2.err"
ok $? "a second --dry-run exits 0" || diag "$(cat "$T/dry2.err")"
is "$(cat "$T/dry2.out")" "" "a second run would change nothing"

# ---- --operations ssh-hostkeys on the phony image touches only the keys ----
fixture_synthetic phony-debian "$T/phony.qcow2"
fixture_synthetic phony-debian "$T/phony-orig.qcow2"
ok_cmd "kiln sysprep --operations ssh-hostkeys on phony-debian" \
    "$KILN" sysprep -a "$T/phony.qcow2" --operations ssh-hostkeys
# ... and every operation, the off-by-default ones too, on another copy.
fixture_synthetic phony-debian "$T/phony-all.qcow2"
ok_cmd "kiln sysprep --operations all on phony-debian" \
    "$KILN" sysprep -a "$T/phony-all.qcow2" --operations all
guestfish --ro -a "$T/phony-orig.qcow2" -a "$T/phony.qcow2" -a "$T/phony-all.qcow2" \
    >"$T/phony.out" 2>"$T/phony.err" <<'GF'
run
mkmountpoint /a
mkmountpoint /b
mkmountpoint /c
mount-ro /dev/sda1 /a
mount-ro /dev/sdb1 /b
mount-ro /dev/sdc1 /c
echo ==c
cat /c/etc/passwd
echo ==c-group
cat /c/etc/group
echo ==c-fstab
cat /c/etc/fstab
echo ==c-uuid
vfs-uuid /dev/sdc1
echo ==c-flag
exists /c/.unconfigured
echo ==c-home
exists /c/home/debian
echo ==a
checksums-out sha256 /a -
find /a
echo ==b
checksums-out sha256 /b -
find /b
GF
ok $? "read both phony images back in one session" || diag "$(cat "$T/phony.err")"
psection() { awk -v s="==$1" '$0 == s { on = 1; next } /^==/ { on = 0 } on' "$T/phony.out"; }
psection a | sort >"$T/phony.a"
psection b | sort >"$T/phony.b"
changed=$(diff "$T/phony.a" "$T/phony.b" | grep '^[<>]' | sed 's/^\([<>]\) \([0-9a-f]*  \)\{0,1\}\.\{0,1\}/\1 /' | sort -u | tr '\n' ' ')
is "$changed" "< /etc/ssh/ssh_host_ed25519_key < /etc/ssh/ssh_host_ed25519_key.pub < /etc/ssh/ssh_host_rsa_key < /etc/ssh/ssh_host_rsa_key.pub " \
    "only the four host keys are gone; nothing else changed"


# --operations all: user-account, fs-uuids, flag-reconfiguration...
unlike "$(psection c)" "debian" "user-account removed the user debian (uid 1000) from passwd"
like "$(psection c)" "^root:x:0:0:" "... and kept root"
unlike "$(psection c-group)" "debian" "... its private group and its memberships (adm, sudo)"
is "$(psection c-home)" false "... and its home"
uuid=$(psection c-uuid)
isnt "$uuid" 5b1c0f2e-6b4a-4c1e-9d1a-000000000001 "fs-uuids gave the root filesystem a new UUID"
is "$(psection c-fstab)" "UUID=$uuid / ext4 errors=remount-ro 0 1" "... and /etc/fstab names the new one"
is "$(psection c-flag)" true "flag-reconfiguration created /.unconfigured"

# ---- lvm-uuids (then fs-uuids, on the logical volume) on the LVM image ----
fixture_synthetic phony-debian-lvm "$T/lvm-orig.qcow2" || bail_out "no LVM fixture"
fixture_synthetic phony-debian-lvm "$T/lvm.qcow2"
"$KILN" sysprep -a "$T/lvm.qcow2" --operations lvm-uuids,fs-uuids >"$T/lvm.out" 2>"$T/lvm.err"
ok $? "kiln sysprep --operations lvm-uuids,fs-uuids on an LVM guest" || diag "$(cat "$T/lvm.err")"
like "$(cat "$T/lvm.err")" "lvm-uuids: [0-9]+ change" "lvm-uuids reports its changes"
# Both disks in one appliance: LVM tells the PVs and VGs apart only if
# their UUIDs differ.
guestfish --ro -a "$T/lvm-orig.qcow2" -a "$T/lvm.qcow2" >"$T/lvm2.out" 2>"$T/lvm2.err" <<'GF'
run
pvs-full
vgs-full
GF
ok $? "read the PVs and VGs of both images in one session" || diag "$(cat "$T/lvm2.err")"
pv_a=$(awk '/pv_name:/ {n = $2} /pv_uuid:/ && n == "/dev/sda1" {print $2}' "$T/lvm2.out")
pv_b=$(awk '/pv_name:/ {n = $2} /pv_uuid:/ && n == "/dev/sdb1" {print $2}' "$T/lvm2.out")
ok "$([ -n "$pv_a" ] && [ -n "$pv_b" ] && [ "$pv_a" != "$pv_b" ]; echo $?)" \
   "the PV has a new UUID ($pv_a -> $pv_b)"
is "$(awk '/vg_uuid:/ {print $2}' "$T/lvm2.out" | sort -u | grep -c .)" 2 \
   "the VG has a new UUID (two distinct kilnvg VGs)"
guestfish --ro -a "$T/lvm.qcow2" -i >"$T/lvm3.out" 2>"$T/lvm3.err" <<'GF'
echo ==host
cat /etc/hostname
echo ==devices
exists /etc/lvm/devices/system.devices
echo ==uuid
vfs-uuid /dev/kilnvg/root
GF
ok $? "the generalized LVM guest is still found and mounted by inspection" || diag "$(cat "$T/lvm3.err")"
lsection() { awk -v s="==$1" '$0 == s { on = 1; next } /^==/ { on = 0 } on' "$T/lvm3.out"; }
is "$(lsection host)" phony "... with its files"
is "$(lsection devices)" false "LVM's devices file, which lists the old PV ids, is gone"
uuid=$(lsection uuid)
ok "$([ -n "$uuid" ] && [ "$uuid" != 5b1c0f2e-6b4a-4c1e-9d1a-000000000001 ]; echo $?)" \
   "fs-uuids, after lvm-uuids, gave the filesystem on the LV a new UUID ($uuid)"

# A build's sysprep on an LVM guest: lvm-uuids unmounts the guest to change
# the UUIDs; the SBOM read after sysprep needs it mounted again.
fixture_synthetic phony-debian-lvm "$T/lvm-build-base.qcow2"
cat >"$T/lvm-build.yaml" <<EOF
recipe: 1
name: lvm-build
base: {source: "$T/lvm-build-base.qcow2"}
output: {path: "$T/lvm-build.qcow2", mode: overlay}
sysprep: {}
EOF
"$KILN" build "$T/lvm-build.yaml" >"$T/lvm-build.out" 2>&1
ok $? "kiln build with the default sysprep (lvm-uuids) on an LVM guest" || diag "$(tail -n 20 "$T/lvm-build.out")"
like "$(grep -c '"SPDXRef-Package-' "$T/lvm-build.qcow2.spdx.json" 2>/dev/null)" '^[1-9]' \
    "... and its SBOM, read after sysprep, lists the guest's packages"

done_testing
