#!/bin/bash
# 60-pipeline.sh: the seed article's workflow end to end with kiln, and the
# one boot test of the suite: kiln create (overlay + root password from a
# file + cloud-init removed + sysprep, in one appliance launch), kiln
# register, kiln clone (linked), then boot the clone and log in as root on
# its serial console with the password set at build time.  In the guest:
# a machine-id of its own, ssh host keys regenerated at first boot and sshd
# running although cloud-init is gone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-console.sh"
require_kiln
require_root
require_cmd qemu-img virsh guestfish python3
export KILN_ACCEL=tcg
plan 20

ensure_libvirtd
V="virsh -c qemu:///system"
P=kiln-test-$$-
cleanup_domains() {
    local d
    for d in "${P}tpl-c1" "${P}tpl"; do
        $V destroy "$d" >/dev/null 2>&1
        $V undefine "$d" >/dev/null 2>&1
    done
}
trap 'cleanup_domains; _lib_cleanup' EXIT
chmod 755 "$T"                     # libvirt's qemu reads the disks in it

img=$(fixture_debian) || bail_out "cannot build the Debian fixture"
base_sum=$(sha256sum "$img" | cut -d' ' -f1)
# What the fixture had, to tell that the clone's are new.
guestfish --ro -a "$img" -i <<'GF' >"$T/before" 2>/dev/null
cat /etc/machine-id
cat /etc/ssh/ssh_host_ed25519_key.pub
GF
old_mid=$(sed -n 1p "$T/before")
old_key=$(sed -n 2p "$T/before" | awk '{print $2}')
like "$old_mid" '^[0-9a-f]{32}$' "the fixture has a machine-id to reset"

umask 077
printf 'kiln-e2e-%s\n' "$$" >"$T/root.pw"
pw=$(cat "$T/root.pw")
umask 022

# ---- build: one launch for customize and sysprep ----
"$KILN" create "$img" -o "$T/tpl.qcow2" --root-password "file:$T/root.pw" \
    --uninstall cloud-init --sysprep >"$T/create.out" 2>"$T/create.err"
ok $? "kiln create with --root-password, --uninstall cloud-init and --sysprep" ||
    diag "$(tail -20 "$T/create.err")"
is "$(grep -c 'Launching the appliance' "$T/create.err")" 1 "customize and sysprep shared one appliance launch"
if grep -qF -- "$pw" "$T/create.out" "$T/create.err"; then st=1; else st=0; fi
ok $st "the password appears in none of kiln's output"
is "$(qemu-img info --output=json "$T/tpl.qcow2" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("backing-filename",""))')" \
   "$img" "the template is an overlay on the base"
is "$(sha256sum "$img" | cut -d' ' -f1)" "$base_sum" "the base is unchanged"

guestfish --ro -a "$T/tpl.qcow2" -i <<'GF' >"$T/tpl.state" 2>&1
cat /etc/machine-id
echo --
find /etc/ssh
GF
is "$(sed -n 1p "$T/tpl.state")" "" "the template's /etc/machine-id is empty"
is "$(awk '/^--$/{n++; next} n==1' "$T/tpl.state" | grep -c '^ssh_host_' || true)" 0 "the template has no ssh host keys"
like "$(awk '/^--$/{n++; next} n==1' "$T/tpl.state")" "sshd_config" "(that listing of /etc/ssh worked)"

# ---- register and a linked clone ----
ok_cmd "kiln register (user-mode NIC, serial console)" \
    "$KILN" register "$T/tpl.qcow2" --name "${P}tpl" --os-variant debian11 --network user --memory 1024 --vcpus 1
ok_cmd "kiln clone: a linked clone" "$KILN" clone --original "${P}tpl" --name "${P}tpl-c1"
cdisk=$($V domblklist "${P}tpl-c1" --details | awk '$2=="disk"{print $4; exit}')
is "$(qemu-img info --output=json "$cdisk" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("backing-filename",""))')" \
   "$T/tpl.qcow2" "the clone's disk is an overlay on the template's"

# ---- boot the clone and look inside over the serial console ----
ok_cmd "the clone starts" $V start "${P}tpl-c1"
# getty can offer a login before the first-boot unit has made the host
# keys (ssh-keygen -A makes an RSA key too: many seconds under TCG, more
# while another guest boots): wait for sshd, which starts after it, up to
# 3 minutes, then look.
out=$(serial_login "${P}tpl-c1" root "$pw" \
    'cat /etc/machine-id; for i in $(seq 1 90); do systemctl is-active -q ssh && break; sleep 2; done; cat /etc/ssh/ssh_host_ed25519_key.pub | cut -d" " -f2; systemctl is-active ssh; dpkg-query -W -f="\${Status}\n" cloud-init 2>&1 | head -1' 480)
st=$?
is "$st" 0 "root logs in on the clone's serial console with the password set at build time" ||
    diag "$(tail -c 3000 "$T/console-${P}tpl-c1.log" 2>/dev/null)"
mid=$(sed -n 1p <<<"$out")
key=$(sed -n 2p <<<"$out")
like "$mid" '^[0-9a-f]{32}$' "the clone has a machine-id"
isnt "$mid" "$old_mid" "and it is its own, not the fixture's"
like "$key" '^AAAA' "the clone has an ed25519 host key"
isnt "$key" "$old_key" "regenerated at first boot, not the fixture's"
is "$(sed -n 3p <<<"$out")" active "sshd runs without cloud-init"
unlike "$(sed -n 4p <<<"$out")" "install ok installed" "cloud-init is not installed in the clone"
