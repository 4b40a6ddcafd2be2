#!/bin/bash
# 51-build-examples.sh: an example recipe built for real, as a template
# author would: recipes/debian-12-web.yaml (which extends
# debian-12-base.yaml) fetched by name through a local https repository
# with a SHA512SUMS file, customized (password, cloud-init out, nginx in),
# sysprepped, registered, and cloned twice; then recipes/debian-12-lab.yaml
# (the seed's networks and extra disk).  The lab recipe's networks carry
# private addresses and NAT; the test defines networks of those names first,
# as bridges without addresses, which kiln uses as they are, so that nothing
# here puts an address or a NAT rule on the host.
. "$(dirname "$0")/lib.sh"
require_kiln
require_root
require_cmd virsh guestfish qemu-img sha512sum
export KILN_ACCEL=tcg
plan 21

ensure_libvirtd
V="virsh -c qemu:///system"
doms=(web-1 web-2 debian-12-web lab-1 debian-12-lab)
nets=(dev-network dev-nat-network)
for d in "${doms[@]}"; do
    if $V dominfo "$d" >/dev/null 2>&1; then
        bail_out "a domain named $d exists already; this test builds one of that name"
    fi
done
for n in "${nets[@]}"; do
    if $V net-info "$n" >/dev/null 2>&1; then
        bail_out "a libvirt network named $n exists already; this test defines one of that name"
    fi
done
made=()
made_nets=()
cleanup_domains() {
    local d n
    for d in ${made[@]+"${made[@]}"}; do $V undefine "$d" >/dev/null 2>&1; done
    for n in ${made_nets[@]+"${made_nets[@]}"}; do
        $V net-destroy "$n" >/dev/null 2>&1; $V net-undefine "$n" >/dev/null 2>&1
    done
}
trap 'cleanup_domains; _lib_cleanup' EXIT
chmod 755 "$T"

img=$(fixture_debian) || bail_out "cannot build the Debian fixture"
mkdir -p "$T/repo" "$T/repos.d" "$T/out"
ln -s "$img" "$T/repo/debian-12-genericcloud-amd64.qcow2"
(cd "$T/repo" && sha512sum debian-12-genericcloud-amd64.qcow2 >SHA512SUMS)
start_nginx "$T/repo" https
export CURL_CA_BUNDLE=$NGINX_CA KILN_REPOS_DIR=$T/repos.d
cat >"$T/repos.d/local.conf" <<CONF
[local]
uri=$NGINX_URL/
format=sums
aliases=debian-12=debian-12-genericcloud-amd64
CONF
umask 077; printf 'kiln-web-%s\n' "$$" >"$T/root.pw"; umask 022

"$KILN" --cache-dir "$T/cache" build "$TOP/recipes/debian-12-web.yaml" \
    --var BASE=debian-12 --var OUTDIR="$T/out" --var ROOT_PASSWORD_FILE="$T/root.pw" \
    --var NETWORK=user --var MEMORY=512 >"$T/build.out" 2>"$T/build.err"
st=$?
for d in "${doms[@]}"; do $V dominfo "$d" >/dev/null 2>&1 && made+=("$d"); done
ok $st "kiln build recipes/debian-12-web.yaml through the local repository" ||
    diag "$(tail -25 "$T/build.err")"
is "$(grep -c 'Launching the appliance' "$T/build.err")" 1 \
   "one appliance launch: customize, sysprep and the OS the template is registered as"
[ -f "$T/out/debian-12-web.qcow2" ] && [ -f "$T/out/debian-12-web.qcow2.json" ]
ok $? "the image and its manifest are written"
if grep -qF -- "$(cat "$T/root.pw")" "$T/build.out" "$T/build.err" "$T/out/debian-12-web.qcow2.json"; then st=1; else st=0; fi
ok $st "the password is in no output and not in the manifest"
like "$(cat "$T/out/debian-12-web.qcow2.json")" '"sha512:[0-9a-f]{128}"' "the manifest records the base's verified digest"
like "$(grep -c . "$NGINX_ACCESS_LOG")" '^[1-9]' "the base came from the repository over https"

is "$(printf '%s\n' ${made[@]+"${made[@]}"} | grep -E 'web' | sort | tr '\n' ' ')" "debian-12-web web-1 web-2 " \
   "the template and its two clones (clones: {count: 2, prefix: web-}) are defined"
like "$($V dumpxml debian-12-web)" "kiln:template" "the template carries kiln's metadata"
like "$($V dumpxml debian-12-web)" "<libosinfo:os id=.http://debian.org/debian/1[12]./>" \
   "the template's OS is the Debian the build's inspection found (os-variant auto)"
cdisk=$($V domblklist web-1 --details | awk '$2=="disk"{print $4; exit}')
is "$(qemu-img info --output=json "$cdisk" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("backing-filename",""))')" \
   "$T/out/debian-12-web.qcow2" "web-1 is a linked clone of the template's disk"

guestfish --ro -a "$T/out/debian-12-web.qcow2" -i <<'GF' >"$T/inside" 2>&1
cat /etc/hostname
cat /var/www/html/index.html
echo --dpkg--
sh "dpkg-query -W -f='${Package} ${Status}\n' nginx cloud-init 2>&1 || true"
GF
is "$(sed -n 1p "$T/inside")" debian-12-web "the extending recipe's hostname wins"
like "$(cat "$T/inside")" "built by kiln" "nginx's page was written"
like "$(sed -n '/--dpkg--/,$p' "$T/inside")" "nginx install ok installed" "nginx is installed"
unlike "$(sed -n '/--dpkg--/,$p' "$T/inside")" "cloud-init install ok installed" "cloud-init is removed (a step of the recipe it extends)"

# ---- the lab recipe: named networks and a second disk ----
i=0
for n in "${nets[@]}"; do
    printf "<network><name>%s</name><bridge name='kilnlab%d$$' stp='on' delay='0'/></network>\n" "$n" "$i" >"$T/$n.xml"
    $V net-define "$T/$n.xml" >/dev/null && made_nets+=("$n")
    i=$((i + 1))
done
is "${#made_nets[@]}" 2 "the lab recipe's two networks are predefined without addresses"
"$KILN" --cache-dir "$T/cache" build "$TOP/recipes/debian-12-lab.yaml" \
    --var BASE=debian-12 --var OUTDIR="$T/out" --var ROOT_PASSWORD_FILE="$T/root.pw" \
    --var MEMORY=512 >"$T/lab.out" 2>"$T/lab.err"
st=$?
for d in lab-1 debian-12-lab; do $V dominfo "$d" >/dev/null 2>&1 && made+=("$d"); done
ok $st "kiln build recipes/debian-12-lab.yaml" || diag "$(tail -25 "$T/lab.err")"
like "$(cat "$T/lab.err")" "network dev-network exists; using it as it is" "existing networks are used as they are"
is "$($V net-info dev-nat-network 2>/dev/null | awk '/^Active:/{print $2}')" yes "and started when they were not"
xml=$($V dumpxml debian-12-lab 2>/dev/null)
like "$xml" "<source network=.dev-network." "the template is on the recipe's network"
vdb=$($V domblklist debian-12-lab --details | awk '$3=="vdb"{print $4}')
is "$(qemu-img info --output=json "$vdb" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" \
   2147483648 "a second 2 GiB disk on vdb"
$V dominfo lab-1 >/dev/null 2>&1
ok $? "and its clone lab-1"
