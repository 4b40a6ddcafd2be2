#!/bin/bash
# kiln clone as a transaction, against the real libvirtd (qemu:///system,
# whose qemu driver, unlike libvirt's test driver, removes NVRAM files on
# undefine): a fault at each step of --replace (KILN_FAULT) leaves the
# replaced clone as it was (XML, disk bytes and qemu-img check, NVRAM), no
# new domain and no temporary file; a --replace that works keeps the new
# clone's NVRAM (same path as the old one's); a UEFI domain never started
# clones without a copy; the clone's serial file and SMBIOS uuid are its
# own.  No appliance, no boot: synthetic disks, domains defined by virsh.
. "$(dirname "$0")/lib.sh"
set -u

require_root
require_kiln
require_cmd qemu-img qemu-io virsh libvirtd sha256sum
export KILN_ACCEL=tcg

libvirt_scratch kiln-test

plan 46

chmod 755 "$T"
head -c 131072 /dev/urandom >"$T/CODE.fd"
head -c 131072 /dev/urandom >"$T/VARS.fd"

# domain_xml NAME NVRAM-TEXT: a UEFI kiln template with one qcow2 disk,
# a serial port writing to a file, and an SMBIOS uuid.
domain_xml() {
    cat <<EOF
<domain type='qemu'><name>$1</name><uuid>$3</uuid><memory unit='MiB'>64</memory><vcpu>1</vcpu><features><acpi/></features>
<metadata><kiln:template xmlns:kiln='https://kiln.example/xmlns/template/1' template='yes'/></metadata>
<sysinfo type='smbios'><system><entry name='uuid'>$3</entry></system></sysinfo>
<os><type arch='x86_64' machine='pc'>hvm</type><loader readonly='yes' type='pflash'>$T/CODE.fd</loader>
$2<smbios mode='sysinfo'/></os>
<devices>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$T/$1.qcow2'/><target dev='vda' bus='virtio'/></disk>
<serial type='file'><source path='$T/$1-serial.log'/><target port='0'/></serial>
<console type='file'><source path='$T/$1-serial.log'/><target type='serial' port='0'/></console>
</devices></domain>
EOF
}

qemu-img create -q -f qcow2 "$T/${P}src.qcow2" 16M
cp "$T/VARS.fd" "$T/${P}src_VARS.fd"
domain_xml "${P}src" "<nvram>$T/${P}src_VARS.fd</nvram>" 6695eb01-f6a4-8304-79aa-97f2502e1111 >"$T/src.xml"
ok_cmd "define a UEFI template with an SMBIOS uuid and a serial log file" $V define "$T/src.xml"
ok_cmd "clone it as c1" "$KILN" clone -o "${P}src" -n "${P}c1"
x=$($V dumpxml --inactive "${P}c1")
like "$x" "<source path='$T/${P}c1-serial.log'/>" "the clone's serial port writes a file of its own"
u=$($V domuuid "${P}c1")
like "$x" "<entry name='uuid'>$u</entry>" "the SMBIOS uuid is the clone's new uuid"
like "$x" "<nvram>$T/${P}c1_VARS.fd</nvram>" "the NVRAM is the clone's own"

# c1 is used: its disk and variables change.
qemu-io -f qcow2 -c "write -P 0x5a 0 64k" "$T/${P}c1.qcow2" >/dev/null
echo "c1's own variables" >"$T/${P}c1_VARS.fd"
xml0=$($V dumpxml --inactive --security-info "${P}c1")
disk0=$(sha256sum <"$T/${P}c1.qcow2")
nv0=$(sha256sum <"$T/${P}c1_VARS.fd")
# Our domains only: other tests define theirs in parallel (make check runs prove -j).
doms0=$($V list --all --name | grep "^$P" | sort | tr '\n' ' ')

for step in clone-disk clone-nvram clone-replace-undefine clone-define; do
    KILN_FAULT=$step "$KILN" clone -o "${P}src" -n "${P}c1" --replace >"$T/last.out" 2>&1
    is "$?" 1 "$step: clone --replace fails (exit 1)"
    like "$(cat "$T/last.out")" "injected fault at step $step" "$step: at that step"
    is "$($V dumpxml --inactive --security-info "${P}c1" 2>&1)" "$xml0" "$step: c1 is defined with its old XML"
    is "$(sha256sum <"$T/${P}c1.qcow2")" "$disk0" "$step: its disk has the same bytes"
    ok_cmd "$step: and passes qemu-img check" qemu-img check -q "$T/${P}c1.qcow2"
    is "$(sha256sum <"$T/${P}c1_VARS.fd" 2>&1)" "$nv0" "$step: its NVRAM is intact"
    is "$($V list --all --name | grep "^$P" | sort | tr '\n' ' ')" "$doms0" "$step: no domain more or less"
    is "$(ls -A "$T" | grep -c '\.kiln-')" 0 "$step: no temporary file left"
done

ok_cmd "without a fault, clone --replace works" "$KILN" clone -o "${P}src" -n "${P}c1" --replace
isnt "$($V dumpxml --inactive --security-info "${P}c1")" "$xml0" "c1 is a new domain"
ok_cmd "the new c1's NVRAM exists (the old one's undefine did not remove it)" \
    cmp "$T/${P}src_VARS.fd" "$T/${P}c1_VARS.fd"
is "$(ls -A "$T" | grep -c '\.kiln-')" 0 "nothing kept aside is left"

# A UEFI domain never started: no NVRAM file yet, a template to make it from.
qemu-img create -q -f qcow2 "$T/${P}fresh.qcow2" 16M
domain_xml "${P}fresh" "<nvram template='$T/VARS.fd'>$T/${P}fresh_VARS.fd</nvram>" \
    6695eb01-f6a4-8304-79aa-97f2502e2222 >"$T/fresh.xml"
ok_cmd "define a UEFI domain never started" $V define "$T/fresh.xml"
ok_cmd "it clones" "$KILN" clone -o "${P}fresh" -n "${P}fc"
like "$($V dumpxml --inactive "${P}fc")" "<nvram template='$T/VARS.fd'>$T/${P}fc_VARS.fd</nvram>" \
    "with an NVRAM path of its own, from the same template"
ok "$([ ! -e "$T/${P}fc_VARS.fd" ]; echo $?)" "and nothing copied"

"$KILN" clone -o "${P}fresh" -n "${P}fm" --mac 52:54:00:00:00:42 >"$T/last.out" 2>&1
is "$?" 2 "a --mac for a domain without NICs is a usage error (exit 2)"
