#!/bin/bash
# demo.sh: make demo.  The seed article's whole workflow with kiln, against a
# local repository: build a real Debian 12 cloud-style image (debootstrap,
# cached), publish it over https on loopback with a SHA512SUMS file (as
# Debian publishes its cloud images), then run
#     kiln build recipes/debian-12-base.yaml
# which fetches and verifies the image, makes an overlay, sets the root
# password, removes cloud-init, sysprep's it (one appliance launch),
# registers the template in libvirt and makes two linked clones.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
KILN=${KILN:-$TOP/build/kiln}
D=${KILN_DEMO_DIR:-/var/tmp/kiln-demo}
CONN=qemu:///system

[ "$(id -u)" = 0 ] || { echo "make demo: run as root (it defines libvirt domains on $CONN)" >&2; exit 1; }
# The test harness's helpers: nginx with a CA of its own, libvirtd.
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/integration/lib-console.sh"

step() { printf '\n== %s\n' "$*"; }

step "Cleaning up an earlier demo"
for d in debian-12-a debian-12-b debian-12-base; do
    if virsh -c "$CONN" dominfo "$d" >/dev/null 2>&1; then
        virsh -c "$CONN" destroy "$d" >/dev/null 2>&1 || true
        virsh -c "$CONN" undefine "$d" --nvram >/dev/null 2>&1 || virsh -c "$CONN" undefine "$d" >/dev/null
        echo "   removed domain $d"
    fi
done
rm -rf "$D/out"
mkdir -p "$D/repo" "$D/repos.d" "$D/out"

step "Building (or reusing) a Debian 12 cloud image with debootstrap"
img=$("$TOP/tests/fixtures/debian-image.sh")
echo "   $img"
name=debian-12-genericcloud-amd64.qcow2
if ! cmp -s "$img" "$D/repo/$name" 2>/dev/null; then
    cp --sparse=always "$img" "$D/repo/$name.tmp" && mv "$D/repo/$name.tmp" "$D/repo/$name"
fi
(cd "$D/repo" && sha512sum "$name" >SHA512SUMS)
echo "   published $D/repo/$name with SHA512SUMS"

step "Serving the repository over https on loopback"
ensure_libvirtd
start_nginx "$D/repo" https
export CURL_CA_BUNDLE=$NGINX_CA
cat >"$D/repos.d/demo.conf" <<CONF
# The demo's local repository: the same form as Debian's (repos/debian.conf).
[demo]
name=kiln demo: Debian 12 built locally
uri=$NGINX_URL/
format=sums
aliases=debian-12=debian-12-genericcloud-amd64
CONF
export KILN_REPOS_DIR=$D/repos.d
echo "   $NGINX_URL/  (CA: $NGINX_CA)"
"$KILN" list

step "The root password, in a file (never on a command line)"
umask 077
[ -f "$D/root.pw" ] || openssl rand -base64 12 >"$D/root.pw"
echo "   $D/root.pw"

step "kiln build recipes/debian-12-base.yaml"
export KILN_ACCEL=${KILN_ACCEL:-auto}
"$KILN" --cache-dir "$D/cache" build "$TOP/recipes/debian-12-base.yaml" \
    --var BASE=debian-12 --var OUTDIR="$D/out" --var ROOT_PASSWORD_FILE="$D/root.pw" \
    --var NETWORK=user

step "Starting the clone debian-12-a and logging in on its serial console"
virsh -c "$CONN" start debian-12-a
echo "   waiting for login: on the serial console (one to three minutes under TCG)"
if out=$(serial_login debian-12-a root "$(cat "$D/root.pw")" \
        'echo "hostname: $(hostname)"; echo "booted: $(systemctl is-system-running)"; echo "machine-id: $(cat /etc/machine-id)"' 600); then
    printf '%s\n' "$out" | grep -E '^(hostname|booted|machine-id):' | sed 's/^/   /'
    booted=1
else
    echo "   the clone did not reach a login prompt (transcript: $T/console-debian-12-a.log)" >&2
    KILN_KEEP=1
    booted=0
fi
virsh -c "$CONN" shutdown debian-12-a >/dev/null 2>&1 || true
for _ in $(seq 60); do
    [ "$(virsh -c "$CONN" domstate debian-12-a 2>/dev/null)" = "shut off" ] && break
    sleep 1
done
virsh -c "$CONN" destroy debian-12-a >/dev/null 2>&1 || true
echo "   debian-12-a shut down again"
[ "$booted" = 1 ] || exit 1

step "Summary"
virsh -c "$CONN" list --all | grep -E 'Name|----|debian-12-' || true
cat <<SUMMARY

Template:  debian-12-base   ($D/out/debian-12-base.qcow2, manifest beside it)
Clones:    debian-12-a, debian-12-b  (linked: qcow2 overlays on the template's disk)
Password:  root, in $D/root.pw

Start a clone and log in on its serial console:
    virsh -c $CONN start debian-12-a
    virsh -c $CONN console debian-12-a        # Ctrl-] leaves
More clones, in milliseconds each:
    $KILN clone --original debian-12-base --name web --count 3
SUMMARY
