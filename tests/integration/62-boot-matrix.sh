#!/bin/bash
# 62-boot-matrix.sh: every bootable image shape through the whole pipeline,
# booted.  For each fixture: kiln build a recipe (root password from a file, an
# ssh-inject key, cloud-init uninstalled, sysprep defaults, a template with a
# user-mode NIC), kiln clone it linked, virsh start the clone, and over its
# serial console: root logs in with the password; its machine-id and ssh host
# key are new (not the fixture's); systemctl is-system-running says running or
# degraded with no failed unit that kiln's changes own; the NIC has an address
# from user-mode networking; the injected key is root's.
#
# Fixtures (KILN_BOOT_MATRIX, space-separated; default "uefi-only selinux"):
#   mbr        tests/fixtures/debian-image.sh: MBR, ext4, extlinux, ifupdown
#   hybrid     tests/fixtures/debian-uefi-image.sh hybrid: GPT, BIOS boot + ESP,
#              GRUB for both; registered with the BIOS, booted through GRUB i386-pc
#   uefi-only  the same without the BIOS boot partition: register must choose
#              OVMF (<os firmware='efi'>), GRUB x86_64-efi boots it
#   selinux    tests/fixtures/debian-selinux-image.sh: the mbr image with SELinux
#              enforcing (selinux-policy-default, labeled); the clone must boot
#              Enforcing and the injected key must carry ssh_home_t
#   lvm-xfs    tests/fixtures/debian-lvm-xfs-image.sh: MBR, ext4 /boot, root on an
#              XFS logical volume (vg0/root), GRUB i386-pc, NetworkManager with a
#              keyfile bound to another VM's MAC
#   btrfs      tests/fixtures/debian-btrfs-image.sh: btrfs root on subvolumes @
#              and @home (fstab subvol=), GRUB i386-pc, systemd-networkd only,
#              its .network bound to another machine's MAC (sysprep unbinds it)
# make check boots uefi-only and selinux; make check-images boots them all.  The builds
# and the boots run in parallel: under TCG on two busy cores a boot takes 1-3
# minutes, the whole matrix about 10.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-console.sh"
require_guest virsh python3 ssh-keygen
read -r -a matrix <<<"${KILN_BOOT_MATRIX:-uefi-only selinux}"
per=14
n=$((1 + per * ${#matrix[@]}))
for f in "${matrix[@]}"; do [ "$f" != selinux ] || n=$((n + 2)); done
plan "$n"

libvirt_scratch kiln-bm
chmod 755 "$T"                     # libvirt's qemu reads the disks in it
start=$(date +%s)

fixture_of() {
    case $1 in
        mbr) fixture_debian ;;
        hybrid|uefi-only) "$TOP/tests/fixtures/debian-uefi-image.sh" "$1" ;;
        selinux) "$TOP/tests/fixtures/debian-selinux-image.sh" ;;
        lvm-xfs) "$TOP/tests/fixtures/debian-lvm-xfs-image.sh" ;;
        btrfs) "$TOP/tests/fixtures/debian-btrfs-image.sh" ;;
        *) bail_out "unknown fixture '$1' in KILN_BOOT_MATRIX" ;;
    esac
}
declare -A img
for f in "${matrix[@]}"; do
    img[$f]=$(fixture_of "$f") || bail_out "cannot build the $f fixture"
done
note "fixtures ready after $(( $(date +%s) - start )) s"

# What the fixtures had (one read-only launch for all): the clones' must differ.
# mount_root F DISK prints the guestfish command that mounts fixture F's root
# filesystem, F being attached as DISK (/dev/sda, /dev/sdb, ...).
mount_root() {
    case $1 in
        lvm-xfs) echo 'mount-ro /dev/vg0/root /' ;;
        btrfs) printf 'mount-options ro,subvol=@ %s1 /\n' "$2" ;;
        *) printf 'mount-ro %s1 /\n' "$2" ;;
    esac
}
{
    echo run
    i=0
    for f in "${matrix[@]}"; do
        mount_root "$f" "/dev/sd$(printf "\\$(printf %03o $((97 + i)))")"
        printf 'cat /etc/machine-id\ncat /etc/ssh/ssh_host_ed25519_key.pub\numount-all\n'
        i=$((i + 1))
    done
} >"$T/before.gf"
args=()
for f in "${matrix[@]}"; do args+=(-a "${img[$f]}"); done
guestfish --ro "${args[@]}" <"$T/before.gf" 2>"$T/before.err" | grep -v '^$' >"$T/before"
ok "${PIPESTATUS[0]}" "the fixtures' machine-ids and host keys read (one launch)" || diag "$(cat "$T/before.err")"
declare -A old_mid old_key
i=0
for f in "${matrix[@]}"; do
    old_mid[$f]=$(sed -n "$((2 * i + 1))p" "$T/before")
    old_key[$f]=$(sed -n "$((2 * i + 2))p" "$T/before" | cut -d' ' -f2)
    i=$((i + 1))
done

umask 077
printf 'kiln-matrix-%s\n' "$$$RANDOM" >"$T/root.pw"
pw=$(cat "$T/root.pw")
ssh-keygen -q -t ed25519 -N '' -C kiln-matrix -f "$T/id" </dev/null
umask 022
inj_key=$(cut -d' ' -f2 "$T/id.pub")

# ---- build the templates, in parallel ----
t0=$(date +%s)
for f in "${matrix[@]}"; do
    cat >"$T/$f.yaml" <<EOF
recipe: 1
name: ${P}$f
base: {source: "${img[$f]}"}
output: {path: "$T/$f.qcow2", mode: overlay}
customize:
  - root-password: file:$T/root.pw
  - ssh-inject: {user: root, file: "$T/id.pub"}
  - uninstall: [cloud-init]
sysprep: {}
template:
  name: ${P}$f
  network: user
  memory: 1024
  vcpus: 1
EOF
    "$KILN" build "$T/$f.yaml" >"$T/$f.build" 2>&1 &
    echo $! >"$T/$f.pid"
done
for f in "${matrix[@]}"; do
    wait "$(cat "$T/$f.pid")"
    echo $? >"$T/$f.rc"
done
note "builds took $(( $(date +%s) - t0 )) s (in parallel)"

# ---- clone and start ----
for f in "${matrix[@]}"; do
    is "$(cat "$T/$f.rc")" 0 "$f: kiln build (password file, ssh-inject, uninstall cloud-init, sysprep)" ||
        diag "$(tail -n 25 "$T/$f.build")"
    if grep -qF -- "$pw" "$T/$f.build"; then st=1; else st=0; fi
    ok $st "$f: the password is nowhere in the build's output"
    fw=$($V dumpxml "${P}$f" 2>/dev/null | python3 -c '
import sys, xml.etree.ElementTree as E
try:
    print(E.fromstring(sys.stdin.read()).find("os").get("firmware") or "bios")
except Exception:
    print("none")')
    if [ "$f" = uefi-only ]; then want=efi; else want=bios; fi
    is "$fw" "$want" "$f: registered with $want firmware"
    ok_cmd "$f: kiln clone (linked)" "$KILN" clone --original "${P}$f" --name "${P}$f-c"
    ok_cmd "$f: virsh start the clone" $V start "${P}$f-c"
done

# ---- log in on every clone at once ----
# is-system-running --wait returns when startup is over (bounded: a unit that
# never settles must not eat the console's time).
cmd='timeout 300 systemctl is-system-running --wait >/tmp/kst 2>&1; cat /etc/machine-id; cut -d" " -f2 /etc/ssh/ssh_host_ed25519_key.pub; cat /tmp/kst; echo $(systemctl list-units --failed --plain --no-legend | cut -d" " -f1); hostname -I | cut -d" " -f1; cut -d" " -f2 /root/.ssh/authorized_keys | head -1; getenforce 2>/dev/null || echo none; ls -Z /root/.ssh/authorized_keys | cut -d" " -f1'
t0=$(date +%s)
for f in "${matrix[@]}"; do
    ( serial_login "${P}$f-c" root "$pw" "$cmd" 900 >"$T/$f.out"; echo $? >"$T/$f.login" ) &
done
wait
note "boots and logins took $(( $(date +%s) - t0 )) s (in parallel)"

for f in "${matrix[@]}"; do
    out=$T/$f.out
    is "$(cat "$T/$f.login")" 0 "$f: root logs in on the serial console with the build's password" ||
        diag "$(tail -c 3000 "$T/console-${P}$f-c.log" 2>/dev/null)"
    mid=$(sed -n 1p "$out"); key=$(sed -n 2p "$out"); state=$(sed -n 3p "$out")
    failed=$(sed -n 4p "$out"); addr=$(sed -n 5p "$out"); auth=$(sed -n 6p "$out")
    enf=$(sed -n 7p "$out"); label=$(sed -n 8p "$out")
    like "$mid" '^[0-9a-f]{32}$' "$f: the clone has a machine-id"
    isnt "$mid" "${old_mid[$f]}" "$f: its own, not the fixture's"
    like "$key" '^AAAA' "$f: the clone has an ed25519 host key"
    isnt "$key" "${old_key[$f]}" "$f: generated at first boot, not the fixture's"
    like "$state" '^(running|degraded)$' "$f: systemctl is-system-running: running or degraded" ||
        diag "state '$state', failed units: $failed"
    [ -z "$failed" ] || diag "$f: failed units: $failed"
    # kiln's own units, and those its changes feed (host keys, network config).
    ours=$(tr ' ' '\n' <<<"$failed" |
           grep -E '^(kiln-.*|ssh|sshd|systemd-networkd|networking|netplan.*|ifup@.*|NetworkManager|serial-getty@.*)\.service$' || true)
    is "$ours" "" "$f: no failed unit that kiln's changes own"
    like "$addr" '^10\.0\.2\.' "$f: the NIC got a user-mode networking address"
    is "$auth" "$inj_key" "$f: the injected key is root's authorized key"
    if [ "$f" = selinux ]; then
        is "$enf" Enforcing "$f: getenforce says Enforcing"
        like "$label" ':ssh_home_t:' "$f: the injected key is labeled ssh_home_t" ||
            diag "ls -Z: $label"
    fi
done
note "matrix wall time $(( $(date +%s) - start )) s"
