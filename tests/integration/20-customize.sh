#!/bin/bash
# kiln customize on the real Debian fixture, through an overlay: bad input
# refused before any launch, --dry-run leaves the image bit-for-bit as it
# was, then ONE kiln run with every kind of operation (cloud-init removed,
# a package installed from Debian's archive through the appliance's
# user-mode network) read back with ONE guestfish session.
. "$(dirname "$0")/lib.sh"
set -u

require_guest perl sha256sum

plan 56

base=$(fixture_debian) || bail_out "no Debian fixture"
img=$T/ov.qcow2
overlay_of "$base" "$img"
sum0=$(sha256sum <"$img")

# ---- bad input: refused before any launch, image untouched ----
"$KILN" customize -a "$img" --no-such-op x >"$T/o" 2>&1
is "$?" 2 "an unknown operation is a usage error (exit 2)"
"$KILN" customize -a "$img" --root-password hunter2 >"$T/o" 2>&1
is "$?" 2 "a malformed password selector is a usage error"
unlike "$(cat "$T/o")" hunter2 "the malformed selector is not echoed (it may be a password)"
"$KILN" customize -a "$img" --root-password file:"$T/missing-pw" >"$T/o" 2>&1
st=$?
ok $(( st == 0 )) "a missing file: selector fails (exit $st)"
like "$(cat "$T/o")" "missing-pw: No such file" "and names the missing file"
echo data >"$T/up.txt"
"$KILN" customize -a "$img" --upload "$T/up.txt:/root/../../etc/evil" >"$T/o" 2>&1
is "$?" 2 "an --upload target with .. is refused"
like "$(cat "$T/o")" "'\.\.' is not allowed" "and says why"
"$KILN" customize -a "$img" >"$T/o" 2>&1
is "$?" 2 "no operation at all is a usage error"
"$KILN" customize --root-password disabled >"$T/o" 2>&1
is "$?" 2 "no -a or -d is a usage error"
is "$(sha256sum <"$img")" "$sum0" "bad input left the overlay unchanged"

# ---- --dry-run: read-only, says what it would do ----
"$KILN" customize -a "$img" -n --hostname dry.example.com --delete /etc/passwd \
    --root-password disabled >"$T/dry.out" 2>"$T/dry.err"
is "$?" 0 "--dry-run succeeds"
like "$(cat "$T/dry.out")" "would run: --hostname dry\.example\.com" "--dry-run lists the operations"
is "$(sha256sum <"$img")" "$sum0" "--dry-run left the overlay bit-for-bit unchanged"

# ---- one run, every kind of operation ----
printf 'Kiln-root-pw-1\nignored second line\n' >"$T/rootpw"
chmod 600 "$T/rootpw"
mkdir -p "$T/tree/sub"
echo leaf >"$T/tree/sub/leaf.txt"
printf '#!/bin/sh\nid -un > /root/run-script.out\n' >"$T/script.sh"
key='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKilnTestKeyNotARealOneXXXXXXXXXXXXXXXXXX kiln@test'
echo "$key" >"$T/key.pub"
SECONDS=0
"$KILN" customize -a "$img" \
    --root-password file:"$T/rootpw" \
    --uninstall cloud-init,kiln-no-such-package \
    --install tree \
    --run-command 'useradd -m -s /bin/bash alice && useradd -m bob' \
    --password alice:password:Alice-pw-2 \
    --password bob:random \
    --write /etc/motd:'kiln was here' \
    --append-line /etc/motd:'second line' \
    --upload "$T/up.txt:/root/" \
    --copy-in "$T/tree:/opt" \
    --mkdir /srv/kiln/deep \
    --delete /etc/issue.net \
    --touch /var/lib/kiln-touched \
    --chmod 0600:/etc/motd \
    --link /etc/motd:/root/motd-link:/root/motd-link2 \
    --hostname web1.example.com \
    --timezone Europe/Madrid \
    --ssh-inject alice:file:"$T/key.pub" \
    --ssh-inject root:string:"$key" \
    --run "$T/script.sh" \
    --firstboot-command 'echo first > /root/firstboot.out' \
    --write /etc/selinux/config:SELINUX=enforcing \
    >"$T/run.out" 2>"$T/run.err"
st=$?
is "$st" 0 "kiln customize with many operations succeeds (${SECONDS}s)" ||
    diag "$(tail -n 30 "$T/run.err")"
unlike "$(cat "$T/run.out" "$T/run.err")" 'Kiln-root-pw-1|Alice-pw-2' \
    "no password appears in kiln's output"
bobpw=$(sed -n "s/^bob's password: //p" "$T/run.out")
like "$bobpw" '^[A-Za-z0-9]{16}$' "the random password is printed on stdout"
is "$(grep -c "password: " "$T/run.out")" 1 "and only once"
unlike "$(cat "$T/run.err")" "bob's password: [A-Za-z0-9]{16}" \
    "the generated password is printed by the verb on stdout, not logged on stderr"
like "$(tr '\n' ' ' <"$T/run.err")" '--uninstall cloud-init.*--install tree.*--password: alice' \
    "operations are applied in the order given" || diag "$(cat "$T/run.err")"
like "$(cat "$T/run.err")" "kiln-no-such-package is not installed; nothing to remove" \
    "--uninstall of a package that is not installed is a no-op, said once"

out=$(guestfish --ro -a "$img" -i <<'GF' 2>&1
echo @shadow
sh "grep -E '^(root|alice|bob):' /etc/shadow"
echo @stat
sh "stat -c '%a %U:%G %n' /etc/shadow /etc/motd /root/.ssh /root/.ssh/authorized_keys /home/alice/.ssh /home/alice/.ssh/authorized_keys /srv/kiln/deep /opt/tree/sub/leaf.txt /root/up.txt /var/lib/kiln-touched"
echo @dpkg
sh "dpkg-query -W -f='${Package} ${Status}\n' tree cloud-init 2>&1; true"
echo @exists
exists /usr/bin/tree
exists /usr/bin/cloud-init
exists /etc/issue.net
echo @motd
cat /etc/motd
echo @links
readlink /root/motd-link
readlink /root/motd-link2
readlink /etc/localtime
echo @files
cat /etc/hostname
cat /etc/timezone
cat /root/up.txt
cat /root/run-script.out
echo @hosts
cat /etc/hosts
echo @keys
cat /home/alice/.ssh/authorized_keys
cat /root/.ssh/authorized_keys
echo @firstboot
readlink /etc/systemd/system/multi-user.target.wants/kiln-firstboot.service
cat /usr/lib/kiln-firstboot/scripts/0001
is-file /etc/systemd/system/kiln-firstboot.service
echo @tmp
ls /tmp
echo @selinux
exists /.autorelabel
echo @end
GF
)
note "$out"
sec() { sed -n "/^@$1\$/,/^@/p" <<<"$out" | sed '1d;$d' | sed '/^$/d'; }

shadow=$(sec shadow)
roothash=$(sed -n 's/^root:\([^:]*\):.*/\1/p' <<<"$shadow")
alicehash=$(sed -n 's/^alice:\([^:]*\):.*/\1/p' <<<"$shadow")
bobhash=$(sed -n 's/^bob:\([^:]*\):.*/\1/p' <<<"$shadow")
like "$roothash" '^\$y\$' "root's hash is yescrypt on Debian 12"
crypt_ok Kiln-root-pw-1 "$roothash"
ok $? "root's hash matches the first line of the file: selector"
crypt_ok 'ignored second line' "$roothash"
ok $(( $? == 0 )) "and not the second line"
crypt_ok Alice-pw-2 "$alicehash"
ok $? "alice's hash matches the password: selector (user added earlier in the same run)"
crypt_ok "$bobpw" "$bobhash"
ok $? "bob's hash matches the printed random password"

stat_out=$(sec stat)
like "$stat_out" '640 root:shadow /etc/shadow' "/etc/shadow keeps its mode and owner"
like "$stat_out" '600 root:root /etc/motd' "--chmod 0600"
like "$stat_out" '700 root:root /root/\.ssh' "root's .ssh is 700"
like "$stat_out" '600 root:root /root/\.ssh/authorized_keys' "root's authorized_keys is 600"
like "$stat_out" '700 alice:alice /home/alice/\.ssh' "alice's .ssh is 700 and hers"
like "$stat_out" '600 alice:alice /home/alice/\.ssh/authorized_keys' "alice's authorized_keys is 600 and hers"
like "$stat_out" '/srv/kiln/deep' "--mkdir makes parents"
like "$stat_out" '/opt/tree/sub/leaf\.txt' "--copy-in copies a tree"
like "$stat_out" '/var/lib/kiln-touched' "--touch"

dpkg=$(sec dpkg)
like "$dpkg" 'tree install ok installed' "tree installed from Debian's archive"
like "$dpkg" 'no packages found matching cloud-init|cloud-init [a-z]+ ok not-installed' \
    "cloud-init is no longer installed (dpkg status)"
is "$(sec exists | tr '\n' ' ')" "true false false " "/usr/bin/tree there, cloud-init and /etc/issue.net gone"
is "$(sec motd)" $'kiln was here\nsecond line' "--write then --append-line"
is "$(sec links | tr '\n' ' ')" "/etc/motd /etc/motd /usr/share/zoneinfo/Europe/Madrid " \
    "--link (two names) and /etc/localtime"
is "$(sec files | tr '\n' ' ')" "web1 Europe/Madrid data root " \
    "/etc/hostname, /etc/timezone, --upload into a directory, --run as root"
like "$(sec hosts)" $'127\\.0\\.1\\.1\tweb1\\.example\\.com web1' "/etc/hosts has the 127.0.1.1 entry"
is "$(grep -c '^127\.0\.1\.1' <<<"$(sec hosts)")" 1 "and only one"
like "$(sec hosts)" '127\.0\.0\.1[[:space:]]+localhost' "localhost kept"
is "$(grep -c 'kiln@test' <<<"$(sec keys)")" 2 "both keys are in place, once each"
fb=$(sec firstboot)
like "$fb" '^/etc/systemd/system/kiln-firstboot\.service' "the first boot unit is enabled"
like "$fb" 'echo first > /root/firstboot\.out' "the first boot command is stored"
like "$fb" 'true$' "the unit file exists"
unlike "$(sec tmp)" 'kiln-run' "--run left nothing in /tmp"
# The guest now says SELinux is enforcing, and the appliance has no policy
# for it: kiln falls back to a relabel at the guest's next boot.
is "$(sec selinux)" "true" "an SELinux guest that kiln changed gets /.autorelabel"
like "$(cat "$T/run.err")" "relabels them at its next boot" "and kiln says so"

# ---- a second run: relock, disable, the key not added twice; the seed's command ----
"$KILN" customize -a "$img" --ssh-inject root:string:"$key" --root-password locked \
    --password alice:disabled >"$T/o" 2>&1
is "$?" 0 "a second run on the customized image" || diag "$(tail -n 20 "$T/o")"
out2=$(guestfish --ro -a "$img" -i <<'GF' 2>&1
sh "grep -E '^(root|alice):' /etc/shadow"
sh "grep -c kiln@test /root/.ssh/authorized_keys"
GF
)
note "$out2"
root2=$(sed -n 's/^root:\([^:]*\):.*/\1/p' <<<"$out2")
is "$root2" "!$roothash" "locked puts ! in front of root's hash"
like "$out2" 'alice:\*:' "disabled sets alice's field to *"
like "$out2" $'\n1$' "an injected key already present is not added twice"

# ---- a failing command shows its output's tail and fails the run ----
"$KILN" customize -a "$img" --run-command 'echo kiln-marker-out; exit 3' >"$T/o" 2>&1
st=$?
is "$st" 1 "a failing --run-command fails the run (exit 1)"
like "$(cat "$T/o")" 'exit status 3.*kiln-marker-out' "and shows the command's output" ||
    diag "$(cat "$T/o")"
