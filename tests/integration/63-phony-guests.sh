#!/bin/bash
# 63-phony-guests.sh: kiln on the phony Fedora (rpm/dnf), Alpine (apk) and Arch
# (pacman) guests of tests/fixtures/phony-guests.sh, whose stand-in package
# tools log their argv in the guest (/var/lib/kiln-phony/argv.log) and answer
# from the guest's own package database.  For each guest: kiln inspect says
# the distro and package manager and its SBOM lists the database's packages;
# kiln sysprep --dry-run names the MAC-bound network files it would change
# (ifcfg HWADDR= and the NetworkManager keyfile on rpm, the networkd [Match]
# on pacman) and changes nothing; one kiln sysprep run with --uninstall (one
# package absent: a note, asked of the database, no remove command; one
# present: the manager's remove) and --install (after the list refresh the
# manager needs) and the default operations.  Then each guest is read back
# with debugfs, without a launch.  Launches: 7 (inspect and run per guest,
# two dry runs; the three guests in parallel lanes).
. "$(dirname "$0")/lib.sh"
require_guest sha256sum python3 debugfs busybox rpm rpmbuild
plan 39

KINDS="rpm apk pacman"
for k in $KINDS; do
    "$TOP/tests/fixtures/phony-guests.sh" "$k" "$T/$k.qcow2" 2>"$T/fixture.err" ||
        bail_out "no phony $k fixture: $(tail -n 5 "$T/fixture.err")"
done

# lane KIND: the kiln launches of one guest, one after the other: inspect
# with the SBOM, a dry run (rpm: ifcfg and the NetworkManager keyfile;
# pacman: systemd-networkd; apk's ifupdown file shows in the run's -v
# lines, which are the dry run's), the run.
lane() {
    local k=$1 img=$T/$1.qcow2
    "$KILN" --json inspect --sbom "$T/$k.spdx.json" "$img" >"$T/$k.inspect" 2>"$T/$k.inspect.err"
    echo $? >"$T/$k.inspect.rc"
    if [ "$k" != apk ]; then
        sha256sum <"$img" >"$T/$k.sum-before"
        "$KILN" sysprep -n -a "$img" >"$T/$k.dry" 2>&1
        echo $? >"$T/$k.dry.rc"
        sha256sum <"$img" >"$T/$k.sum-after"
    fi
    "$KILN" -v sysprep -a "$img" --uninstall nano,cloud-init --install vim >"$T/$k.run" 2>&1
    echo $? >"$T/$k.run.rc"
}
start=$(date +%s)
for k in $KINDS; do lane "$k" & done
wait
note "kiln's launches, three guests in parallel: $(( $(date +%s) - start )) s"

# field KIND KEY: a member of kiln inspect's JSON.
field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T/$1.inspect" "$2"; }
# sbom KIND: "NAME VERSION" per package of the SBOM, sorted.
sbom() {
    python3 - "$T/$1.spdx.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print("\n".join(sorted(f'{p["name"]} {p["versionInfo"]}' for p in d["packages"]
                       if p["SPDXID"].startswith("SPDXRef-Package-"))))
EOF
}

# ---- kiln inspect and its SBOM ----
declare -A distro=([rpm]=fedora [apk]=alpinelinux [pacman]=archlinux)
declare -A pm=([rpm]=dnf [apk]=apk [pacman]=pacman)
declare -A version=([rpm]=40.0 [apk]=3.19 [pacman]=0.0)
declare -A packages=(
    [rpm]=$'NetworkManager 1.46.0-1.fc40\nbash 5.2.26-3.fc40\ncloud-init 24.1.4-1.fc40\nopenssh-server 9.6p1-1.fc40.4'
    [apk]=$'busybox 1.36.1-r15\ncloud-init 23.4.1-r0\nmusl 1.2.4_git20230717-r4\nopenssh-server 9.6_p1-r0'
    [pacman]=$'bash 5.2.026-2\ncloud-init 24.1-1\nfilesystem 2024.01.19-1\nopenssh 9.6p1-1'
)
for k in $KINDS; do
    is "$(cat "$T/$k.inspect.rc")" 0 "$k: kiln inspect --sbom succeeds" || diag "$(cat "$T/$k.inspect.err")"
    is "$(field "$k" distro) $(field "$k" version) $(field "$k" package_format) $(field "$k" package_manager)" \
        "${distro[$k]} ${version[$k]} $k ${pm[$k]}" "$k: distro, version, package format and manager"
    is "$(sbom "$k")" "${packages[$k]}" "$k: the SBOM lists the package database, versions as the manager says them"
done

# ---- kiln sysprep --dry-run ----
declare -A dry=(
    [rpm]='net-hwaddr: change /etc/sysconfig/network-scripts/ifcfg-eth0.*net-nmconn: remove /etc/NetworkManager/system-connections/eth0.nmconnection'
    [pacman]='net-networkd: change /etc/systemd/network/20-wired.network'
)
for k in rpm pacman; do
    is "$(cat "$T/$k.dry.rc")" 0 "$k: sysprep --dry-run succeeds" || diag "$(tail -n 20 "$T/$k.dry")"
    like "$(tr '\n' ' ' <"$T/$k.dry")" "${dry[$k]}" "$k: the dry run names the MAC-bound network files" ||
        diag "$(cat "$T/$k.dry")"
    is "$(cat "$T/$k.sum-after")" "$(cat "$T/$k.sum-before")" "$k: and leaves the image as it was"
done

# ---- kiln sysprep with --uninstall and --install ----
for k in $KINDS; do
    is "$(cat "$T/$k.run.rc")" 0 "$k: sysprep with --uninstall and --install succeeds" ||
        diag "$(tail -n 20 "$T/$k.run")"
    like "$(cat "$T/$k.run")" "nano is not installed; nothing to remove" "$k: uninstalling an absent package is a note"
done

# ---- the three guests read back without a launch (debugfs) ----
for k in $KINDS; do
    qemu-img convert -O raw "$T/$k.qcow2" "$T/$k.raw" &&
        dd if="$T/$k.raw" of="$T/$k.fs" bs=1M skip=1 status=none && rm -f "$T/$k.raw" ||
        bail_out "cannot read $k back"
done
# part KIND PATH: the file at PATH in KIND's guest; a directory: its names.
part() {
    case $2 in
    */) debugfs -R "ls -p ${2%/}" "$T/$1.fs" 2>/dev/null | awk -F/ 'NF > 5 && $6 != "." && $6 != ".." { print $6 }' ;;
    *) debugfs -R "cat $2" "$T/$1.fs" 2>/dev/null ;;
    esac
}

# The changes the run's -v lines (the dry run's) announced.
like "$(cat "$T/apk.run")" "net-hwaddr: change /etc/network/interfaces" "apk: the run names ifupdown's file"
like "$(cat "$T/pacman.run")" "net-networkd: change /etc/systemd/network/20-wired.network" "pacman: and the .network file"

# The package tools ran with the right command lines, nothing else.
is "$(part rpm /var/lib/kiln-phony/argv.log | grep -v '^rpm -qa')" \
    $'rpm -q --quiet nano\nrpm -q --quiet cloud-init\ndnf -y remove cloud-init\ndnf -y install vim' \
    "rpm: asked rpm -q, removed with dnf, installed with dnf (which refreshes by itself)"
is "$(part apk /var/lib/kiln-phony/argv.log)" \
    $'apk info -e nano\napk info -e cloud-init\napk del cloud-init\napk update\napk add vim' \
    "apk: asked apk info -e, apk del, apk update before apk add"
is "$(part pacman /var/lib/kiln-phony/argv.log)" \
    $'pacman -Q nano\npacman -Q cloud-init\npacman --noconfirm -R cloud-init\npacman --noconfirm -Syu --needed vim' \
    "pacman: asked pacman -Q, -R, and -Syu with the install (no sync databases yet)"
is "$(part rpm /var/lib/rpm/kiln-phony-rpmdb.tsv | cut -f1 | tr '\n' ' ')" "NetworkManager bash openssh-server vim " \
    "rpm: the database lost cloud-init and got vim"
is "$(part apk /lib/apk/db/installed | grep '^P:' | tr '\n' ' ')" "P:musl P:busybox P:openssh-server P:vim " \
    "apk: the database lost cloud-init and got vim"
is "$(part pacman /var/lib/pacman/local/ | sort | tr '\n' ' ')" "ALPM_DB_VERSION bash-5.2.026-2 filesystem-2024.01.19-1 openssh-9.6p1-1 vim-0-1 " \
    "pacman: the database lost cloud-init and got vim"

# The default operations generalized the network configuration.
ifcfg=$(part rpm /etc/sysconfig/network-scripts/ifcfg-eth0)
unlike "$ifcfg" HWADDR "rpm: ifcfg-eth0 has no HWADDR"
like "$ifcfg" "DEVICE=eth0" "rpm: and keeps the rest"
is "$(part rpm /etc/NetworkManager/system-connections/)" "" "rpm: the NetworkManager keyfile with mac-address= is gone"
ifaces=$(part apk /etc/network/interfaces)
unlike "$ifaces" hwaddress "apk: /etc/network/interfaces has no hwaddress"
like "$ifaces" "iface eth0 inet dhcp" "apk: and keeps the eth0 stanza"
networkd=$(part pacman /etc/systemd/network/20-wired.network)
unlike "$networkd" MACAddress "pacman: the .network file matches no MAC address"
like "$networkd" $'\\[Match\\]\nType=ether' "pacman: its [Match] matches any Ethernet NIC"
for k in $KINDS; do
    is "$(part "$k" /etc/machine-id)" "" "$k: machine-id emptied"
done
done_testing
