#!/bin/bash
# 44-clone-identity.sh — issue 17: per-clone identity without an appliance.
# A template made from the Debian fixture by kiln sysprep (one appliance
# launch, which installs the firstboot-identity unit and marks the image);
# five linked clones with --hostname web-%d and --ssh-inject, made with
# libguestfs unable to launch anything (so the clone call provably launched
# no appliance), their OEM strings in the XML; a template without the unit
# refused with the command that adds it; private keys refused; then one
# clone booted: its serial console shows the host name web-1 at the login
# prompt and, logged in, the authorized key.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-console.sh"
require_cmd qemu-img virsh python3 ssh-keygen
libvirt_scratch t44
plan 18

fix=$(fixture_debian) || bail_out "no Debian fixture"
overlay_of "$fix" "$T/${P}tmpl.qcow2"
overlay_of "$fix" "$T/${P}old.qcow2"
umask 022
chmod 755 "$T"
openssl rand -base64 12 >"$T/root.pw"
ssh-keygen -q -t ed25519 -N '' -C kiln-t44 -f "$T/key" </dev/null

ok_cmd "kiln sysprep makes the template (firstboot-identity among the defaults)" \
    "$KILN" sysprep -a "$T/${P}tmpl.qcow2" --root-password "file:$T/root.pw"
is "$(getfattr --only-values -n user.kiln.firstboot-identity "$T/${P}tmpl.qcow2" 2>/dev/null)" 1 \
    "the image is marked"
ok_cmd "registered" "$KILN" register "$T/${P}tmpl.qcow2" --name "${P}tmpl" --os-variant debian11 --network user
ok_cmd "an image without the unit registered too" \
    "$KILN" register "$T/${P}old.qcow2" --name "${P}old" --os-variant debian11 --network user

out=$("$KILN" clone -o "${P}old" -n "${P}o" --hostname x 2>&1); rc=$?
is "$rc" 2 "a template without the unit: clone --hostname refused as a usage error"
like "$out" "kiln sysprep -d ${P}old --operations firstboot-identity" "saying how to add it"

out=$("$KILN" clone -o "${P}tmpl" -n "${P}p" --ssh-inject "root:file:$T/key" 2>&1); rc=$?
is "$rc" 2 "a private key refused"
like "$out" "readable by anyone" "saying why"

# No appliance can launch: a backend that does not exist.
t0=$(date +%s.%N)
LIBGUESTFS_BACKEND=no-such-backend LIBGUESTFS_PATH=/nonexistent \
    "$KILN" --json clone -o "${P}tmpl" -n "${P}web" --count 5 --hostname web-%d \
    --ssh-inject "root:file:$T/key.pub" >"$T/clone.json" 2>"$T/clone.err"
rc=$?
t1=$(date +%s.%N)
is "$rc" 0 "5 linked clones with an identity, with no appliance able to launch"
diag "kiln clone --count 5 --hostname: $(echo "$t1 - $t0" | bc) s"
[ "$rc" = 0 ] || diag "$(cat "$T/clone.err")"
for i in 1 5; do
    like "$($V dumpxml "${P}web-$i")" "<entry>kiln.hostname=web-$i</entry>" "${P}web-$i has host name web-$i"
done
like "$($V dumpxml "${P}web-3")" "<entry>kiln.ssh-key=root:$(cut -d' ' -f1-2 "$T/key.pub")" "and the key"
like "$($V dumpxml "${P}web-3")" "<smbios mode='sysinfo'/>" "shown to the guest"

# One boot (1-3 min under TCG): the guest applies what the XML says.
ok_cmd "web-1 starts" $V start "${P}web-1"
got=$(KILN_CONSOLE_URI=qemu:///system serial_login "${P}web-1" root "$(cat "$T/root.pw")" \
    'hostname; cat /root/.ssh/authorized_keys; stat -c %a /root/.ssh/authorized_keys' 400)
is "$?" 0 "logged in on web-1's serial console"
like "$(cat "$T/console-${P}web-1.log")" "web-1 login:" "the login prompt shows web-1"
is "$(printf "%s\n" "$got" | head -n1)" web-1 "hostname says web-1"
like "$got" "$(cut -d' ' -f2 "$T/key.pub")" "the key is in root's authorized_keys"
$V destroy "${P}web-1" >/dev/null 2>&1
done_testing
