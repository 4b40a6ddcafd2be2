#!/bin/bash
# kiln register and clone on a remote libvirt host, for real: a second,
# separate libvirt instance (an unprivileged user's qemu:///session daemon)
# reached over libvirt's remote protocol through an sshd this test starts on
# a loopback port with keys it makes: qemu+ssh://USER@127.0.0.1:PORT/session.
# Everything kiln does to the disks goes through the storage API: the
# template is uploaded (and verified), the clones are volumes of its pool
# made by the remote daemon (owned by the remote user, not by kiln's root),
# their backing store is the template's volume, the dependents check reads
# the remote chains, and a failure leaves no volume.  Loopback only; the
# test stops the sshd and the daemon it started and removes its user.
. "$(dirname "$0")/lib.sh"
set -u

require_root
require_kiln
require_cmd qemu-img qemu-io virsh ssh ssh-keygen useradd userdel setpriv virt-ssh-helper
[ -x /usr/sbin/sshd ] || skip_all "no sshd (openssh-server)"
export KILN_ACCEL=tcg

U=kiln-rmt-$$
S=$T/ssh
P=kiln45-$RANDOM-
PORT=""
_rt_cleanup() {
    set +e
    local pid
    if [ -n "$PORT" ]; then
        virsh -q -c "$R" pool-destroy "${P}pool" >/dev/null 2>&1
        virsh -q -c "$R" pool-undefine "${P}pool" >/dev/null 2>&1
    fi
    [ -f "$S/sshd.pid" ] && kill "$(cat "$S/sshd.pid")" 2>/dev/null
    # The remote user's processes (its session daemon, sshd children):
    # this test created the user, so they are this test's.
    if id "$U" >/dev/null 2>&1; then
        for pid in $(pgrep -u "$U"); do kill "$pid" 2>/dev/null; done
        sleep 0.5
        for pid in $(pgrep -u "$U"); do kill -9 "$pid" 2>/dev/null; done
        userdel -r "$U" >/dev/null 2>&1
    fi
}
trap '_rt_rc=$?; _rt_cleanup; (exit $_rt_rc); _lib_cleanup' EXIT

plan 39

# ---- the remote side: a user, its key, an sshd on loopback ----
chmod 755 "$T"
useradd -m -s /bin/sh "$U" || bail_out "cannot add user $U"
usermod -p '*' "$U"                 # unlocked, no password: key only
mkdir -p "$S" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$S/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$S/client_key"
cp "$S/client_key.pub" "$S/authorized_keys"
chmod 644 "$S/authorized_keys"
base=$((20000 + RANDOM % 20000))
for PORT in $(seq "$base" $((base + 50))); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || break
done
cat >"$S/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $S/host_key
AuthorizedKeysFile $S/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $S/sshd.pid
EOF
# libvirt runs this as its ssh: nothing read from or written to ~/.ssh.
cat >"$S/ssh" <<EOF
#!/bin/sh
exec ssh -F /dev/null -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no \
    -o BatchMode=yes -o LogLevel=ERROR "\$@"
EOF
chmod 755 "$S/ssh"
/usr/sbin/sshd -f "$S/sshd_config" -E "$S/sshd.log" || bail_out "sshd does not start"
R="qemu+ssh://$U@127.0.0.1:$PORT/session?keyfile=$S/client_key&command=$S/ssh"
rv() { virsh -q -c "$R" "$@"; }
ok_cmd "the remote libvirt answers over ssh ($U's qemu:///session)" rv list --all

# The remote side's pool: a directory only its user can enter.
POOL=$T/pool
mkdir -p "$POOL"
chown "$U" "$POOL"
chmod 700 "$POOL"
# kiln runs the clones as a third user, who cannot read the remote user's
# files: whatever it does to them goes through libvirt.
cp "$S/client_key" "$S/nobody_key"
chown nobody "$S/nobody_key"
chmod 600 "$S/nobody_key"
mkdir -p "$T/home-nobody"
chown nobody "$T/home-nobody"
R3="qemu+ssh://$U@127.0.0.1:$PORT/session?keyfile=$S/nobody_key&command=$S/ssh"
k3() { setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME="$T/home-nobody" \
           XDG_CACHE_HOME="$T/home-nobody" "$KILN" -c "$R3" "$@"; }
nok_cmd "the third user cannot list the remote pool's directory" \
    setpriv --reuid=nobody --regid=nogroup --clear-groups ls "$POOL"
rv pool-define-as "${P}pool" dir --target "$POOL" >/dev/null
ok_cmd "a dir pool on the remote side" rv pool-start "${P}pool"

# ---- register: upload, verify, define there ----
SRC=$T/src
mkdir -p "$SRC"
qemu-img create -q -f qcow2 "$SRC/tmpl.qcow2" 64M
# Some data, so the upload and its verification carry bytes.
qemu-io -c 'write -P 0x5a 1M 2M' "$SRC/tmpl.qcow2" >/dev/null
before=$(ls -A "$SRC")

nok_cmd "register on a remote connection without --pool is refused" \
    "$KILN" -c "$R" register "$SRC/tmpl.qcow2" --name "${P}tmpl" --os-variant debian12
like "$(cat "$T/last.out")" "give --pool POOL" "and says to give --pool"

ok_cmd "KILN_FAULT=template-upload: register fails after the upload" \
    sh -c "! KILN_FAULT=template-upload '$KILN' -c '$R' register '$SRC/tmpl.qcow2' \
        --name '${P}tmpl' --os-variant debian12 --pool '${P}pool'"
is "$(rv vol-list "${P}pool" | wc -l)" 0 "the failed register left no volume"

t0=$(date +%s%N)
ok_cmd "register --pool --verify-upload over ssh" \
    "$KILN" -c "$R" -v register "$SRC/tmpl.qcow2" --name "${P}tmpl" --os-variant debian12 \
    --pool "${P}pool" --verify-upload
t1=$(date +%s%N)
note "register with upload and verification: $(( (t1 - t0) / 1000000 )) ms"
like "$(cat "$T/last.out")" "SHA-256 of the volume read back matches" "the upload verified by digest"
ok_cmd "the template's volume is in the remote pool" rv vol-info "${P}tmpl.qcow2" --pool "${P}pool"
cmp -s "$SRC/tmpl.qcow2" "$POOL/${P}tmpl.qcow2"
ok $? "the volume holds the image's bytes"
x=$(rv dumpxml "${P}tmpl")
like "$x" "<source pool='${P}pool' volume='${P}tmpl.qcow2'" "the template's disk is the volume"
like "$x" "<driver name='qemu' type='qcow2'" "as qcow2"
is "$(stat -c %U "$POOL/${P}tmpl.qcow2")" "$U" "its file was made by the remote daemon (owned by $U)"

# ---- linked clones: volumes in the template's pool on its volume ----
t0=$(date +%s%N)
ok_cmd "5 linked clones over ssh, kiln run by that third user" \
    k3 clone -o "${P}tmpl" -n "${P}web" --count 5
t1=$(date +%s%N)
note "5 remote linked clones: $(( (t1 - t0) / 1000000 )) ms"
vols=$(rv vol-list "${P}pool" | awk '{print $1}' | sort | tr '\n' ' ')
is "$vols" "${P}tmpl.qcow2 ${P}web-1.qcow2 ${P}web-2.qcow2 ${P}web-3.qcow2 ${P}web-4.qcow2 ${P}web-5.qcow2 " \
    "each clone's disk is a new volume of the template's pool"
is "$(ls -A "$POOL" | sort | tr '\n' ' ')" "$vols" "the pool directory holds those volumes and nothing else"
is "$(ls -A "$SRC")" "$before" "no file made beside the local image"
is "$(stat -c %U "$POOL/${P}web-3.qcow2")" "$U" "a clone's volume was made by the remote daemon"
vx=$(rv vol-dumpxml "${P}web-3.qcow2" --pool "${P}pool")
like "$vx" "<backingStore>" "its volume has a backing store"
like "$vx" "<path>$POOL/${P}tmpl.qcow2</path>" "the template's volume"
like "$vx" "<format type='qcow2'/>" "qcow2"
dx=$(rv dumpxml "${P}web-3")
like "$dx" "<source pool='${P}pool' volume='${P}web-3.qcow2'" "the clone's disk is its volume"
is "$(qemu-img info --output=json "$POOL/${P}web-3.qcow2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["backing-filename"])')" \
    "$POOL/${P}tmpl.qcow2" "qemu-img agrees: backed by the template's volume"

# ---- a full clone ----
ok_cmd "a full clone over ssh" "$KILN" -c "$R" clone -o "${P}tmpl" -n "${P}full" --full
fx=$(rv vol-dumpxml "${P}full.qcow2" --pool "${P}pool")
unlike "$fx" "<backingStore>" "its volume has no backing store"
ok_cmd "its bytes are the template's" qemu-img compare -q "$SRC/tmpl.qcow2" "$POOL/${P}full.qcow2"

# ---- the dependents check, from the remote volumes and domains ----
ok_cmd "--list-dependents over ssh, by the third user" k3 clone --list-dependents "${P}tmpl"
is "$(grep -c "^${P}web-" "$T/last.out")" 5 "lists the 5 linked clones"
nok_cmd "replacing the template refused while linked clones sit on its volume" \
    "$KILN" -c "$R" clone -o "${P}full" -n "${P}tmpl" --replace
like "$(cat "$T/last.out")" "linked clones depend on its disks" "because of its dependents"
ok_cmd "the template is still there" rv dominfo "${P}tmpl"

# A domain there whose disk is no volume: the scan cannot read its chain
# and refuses rather than guess.
cat >"$T/stray.xml" <<EOF
<domain type='qemu'><name>${P}stray</name><memory>65536</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os><devices><disk type='file' device='disk'>
<driver name='qemu' type='qcow2'/><source file='$T/not-a-volume.qcow2'/>
<target dev='vda' bus='virtio'/></disk></devices></domain>
EOF
rv define "$T/stray.xml" >/dev/null 2>&1
nok_cmd "a remote domain whose disk is no volume: the dependents check fails closed" \
    "$KILN" -c "$R" clone --list-dependents "${P}tmpl"
like "$(cat "$T/last.out")" "not a volume of an active storage pool" "and says why"
rv undefine "${P}stray" >/dev/null 2>&1

# ---- a failure half-way leaves nothing there ----
nok_cmd "KILN_FAULT=clone-disk: 3 clones fail after the first volume" \
    env KILN_FAULT=clone-disk "$KILN" -c "$R" clone -o "${P}tmpl" -n "${P}half" --count 3
is "$(rv vol-list "${P}pool" | grep -c "${P}half")" 0 "no volume of that run is left"
nok_cmd "KILN_FAULT=clone-define: 3 clones fail" \
    env KILN_FAULT=clone-define "$KILN" -c "$R" clone -o "${P}tmpl" -n "${P}bad" --count 3
is "$(rv vol-list "${P}pool" | grep -c "${P}bad")" 0 "no volume of the failed run is left"
is "$(rv list --all --name | grep -c "${P}bad")" 0 "nor a domain"

done_testing
