#!/bin/bash
# 44-clone-identity.sh — issue 17: per-clone identity without an appliance.
# A template made from the Debian fixture by kiln sysprep (one appliance
# launch, which installs the firstboot-identity unit and marks the image);
# five linked clones with --hostname web-%d and --ssh-inject, made with
# libguestfs unable to launch anything (so the clone call provably launched
# no appliance), started at once and waited for (--start --wait: each
# clone's login prompt shows its name), their OEM strings in the XML; a
# template without the unit refused with the command that adds it; private
# keys refused; over each serial console, the host name and the authorized
# key; a clone not up in time reported with its console.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-console.sh"
require_cmd qemu-img virsh python3 ssh-keygen
libvirt_scratch t44
plan 26

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
ok_cmd "registered (384 MiB: five boot at once)" "$KILN" register "$T/${P}tmpl.qcow2" --name "${P}tmpl" \
    --os-variant debian11 --network user --memory 384 --vcpus 1
ok_cmd "an image without the unit registered too" \
    "$KILN" register "$T/${P}old.qcow2" --name "${P}old" --os-variant debian11 --network user

out=$("$KILN" clone -o "${P}old" -n "${P}o" --hostname x 2>&1); rc=$?
is "$rc" 1 "a template without the unit: clone --hostname refused (exit 1: the template's state, not usage)"
like "$out" "kiln sysprep -d ${P}old --operations firstboot-identity" "saying how to add it"

out=$("$KILN" clone -o "${P}tmpl" -n "${P}p" --ssh-inject "root:file:$T/key" 2>&1); rc=$?
is "$rc" 2 "a private key refused"
like "$out" "readable by anyone" "saying why"

# No appliance can launch: a backend that does not exist.  The clones start
# together and kiln waits until each shows its login prompt (TCG, 2 cores:
# several minutes for five; make check runs another test beside it, so the
# bound is generous: a slow machine is not what this test checks).
t0=$(date +%s.%N)
LIBGUESTFS_BACKEND=no-such-backend LIBGUESTFS_PATH=/nonexistent \
    "$KILN" --json clone -o "${P}tmpl" -n "${P}web" --count 5 --hostname web-%d \
    --ssh-inject "root:file:$T/key.pub" --start --wait=900 >"$T/clone.json" 2>"$T/clone.err"
rc=$?
t1=$(date +%s.%N)
is "$rc" 0 "5 linked clones with an identity, started and up, with no appliance able to launch"
[ "$rc" = 0 ] || diag "$(tail -n 40 "$T/clone.err")"
read -r clone_ms up_s nup hosts <<<"$(python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))
print("%.1f" % (max(c["microseconds"] for c in a) / 1e3),
      "%.1f" % (max(c.get("boot_microseconds", 0) for c in a) / 1e6),
      sum(c.get("boot") == "up" for c in a),
      ",".join(str(c.get("console_hostname")) for c in a))' "$T/clone.json" 2>/dev/null)"
diag "kiln clone --count 5 --hostname --start --wait: $(echo "$t1 - $t0" | bc) s in all;" \
    "the slowest clone made in ${clone_ms:-?} ms; all 5 up after ${up_s:-?} s (TCG)"
is "$nup" 5 "all 5 reported up"
is "$hosts" "web-1,web-2,web-3,web-4,web-5" "their login prompts show web-1 ... web-5"
for i in 1 5; do
    like "$($V dumpxml "${P}web-$i")" "<entry>kiln.hostname=web-$i</entry>" "${P}web-$i has host name web-$i"
done
# Fixed-string: a key's base64 may hold + (a regex operator).
$V dumpxml "${P}web-3" | grep -qF "<entry>kiln.ssh-key=root:$(cut -d' ' -f1-2 "$T/key.pub")"
ok $? "and the key"
like "$($V dumpxml "${P}web-3")" "<smbios mode='sysinfo'/>" "shown to the guest"
like "$($V dumpxml "${P}web-3")" "<log file='$T/${P}web-3-console.log'" "its console logged beside its disk"

# Over each serial console: the host name and the key the guest applied.
for i in 1 2 3 4 5; do
    got=$(KILN_CONSOLE_URI=qemu:///system serial_login "${P}web-$i" root "$(cat "$T/root.pw")" \
        'hostname; cat /root/.ssh/authorized_keys' 600)
    r=$?
    [ "$r" = 0 ] && [ "$(printf "%s\n" "$got" | head -n1)" = "web-$i" ] &&
        printf "%s\n" "$got" | grep -qF "$(cut -d' ' -f2 "$T/key.pub")"
    ok $? "web-$i: hostname web-$i, the key in root's authorized_keys" || diag "rc=$r: $got"
done
for i in 1 2 3 4 5; do $V destroy "${P}web-$i" >/dev/null 2>&1; done

# A clone that is not up in time: reported with its console, left defined.
out=$("$KILN" clone -o "${P}tmpl" -n "${P}slow" --start --wait=3 2>&1); rc=$?
$V destroy "${P}slow" >/dev/null 2>&1
is "$rc" 1 "a clone not up within --wait=3: exit 1"
like "$out" "${P}slow.*timeout" "reported as timed out"
like "$out" "console's last lines" "with its console's last lines"
like "$out" "stay defined" "saying the clones stay defined"
is "$($V domstate "${P}slow" 2>&1)" "shut off" "and it is (shut off by the test)"
done_testing
