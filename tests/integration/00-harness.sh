#!/bin/bash
# The integration harness itself: real nginx (http, https with a test CA, Range,
# access log, NGINX_EXTRA), libvirtd, overlays, and the fixtures (synthetic images
# inspected by the real libguestfs appliance, launched once; the Debian image).
. "$(dirname "$0")/lib.sh"
set -u

require_root
require_cmd nginx curl openssl qemu-img guestfish virsh libvirtd mkfs.ext4 sfdisk

plan 25

# ---- nginx over http ----
mkdir -p "$T/www/sub"
head -c 1048576 /dev/urandom >"$T/www/blob.bin"
echo hello >"$T/www/sub/hello.txt"
NGINX_EXTRA='location = /moved { return 302 /sub/hello.txt; }
        location = /gone { return 404; }' start_nginx "$T/www"
like "$NGINX_URL" '^http://127\.0\.0\.1:[0-9]+$' "NGINX_URL is http on loopback"

ok_cmd "curl fetches a file over http" curl -fsS -o "$T/got.bin" "$NGINX_URL/blob.bin"
is "$(sha256sum <"$T/got.bin")" "$(sha256sum <"$T/www/blob.bin")" "fetched file is identical"

code=$(curl -s -o "$T/part.bin" -w '%{http_code}' -r 100-199 "$NGINX_URL/blob.bin")
is "$code" 206 "range request answers 206"
is "$(stat -c %s "$T/part.bin")" 100 "range request returns 100 bytes"
is "$(cmp "$T/part.bin" <(tail -c +101 "$T/www/blob.bin" | head -c 100) && echo same)" same \
    "range bytes are the right ones"
sleep 0.2   # access log lines are written when the request completes
like "$(cat "$NGINX_ACCESS_LOG")" '"GET /blob\.bin HTTP/1\.1" 206 100 .* range=bytes=100-199' \
    "access log records the range request"

code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$NGINX_URL/moved")
like "$code" "^302 http://127\\.0\\.0\\.1:$NGINX_PORT/sub/hello\\.txt\$" "NGINX_EXTRA adds a redirect"
is "$(curl -fsSL "$NGINX_URL/moved")" hello "redirect is followed"
is "$(curl -s -o /dev/null -w '%{http_code}' "$NGINX_URL/gone")" 404 "NGINX_EXTRA location returns 404"
is "$(curl -s -o /dev/null -w '%{http_code}' "$NGINX_URL/sub/")" 403 "autoindex is off"
http_pidfile=$NGINX_PIDFILE

# ---- nginx over https with a test CA ----
start_nginx "$T/www" https
like "$NGINX_URL" '^https://localhost:[0-9]+$' "NGINX_URL is https://localhost"
ok_cmd "curl fetches over https with the test CA" \
    curl -fsS --cacert "$NGINX_CA" -o "$T/got2.bin" "$NGINX_URL/blob.bin"
is "$(sha256sum <"$T/got2.bin")" "$(sha256sum <"$T/www/blob.bin")" "https file is identical"
ok_cmd "CURL_CA_BUNDLE works too (as kiln will get it)" \
    env CURL_CA_BUNDLE="$NGINX_CA" curl -fsS -o /dev/null "$NGINX_URL/sub/hello.txt"
curl -sS -o /dev/null "$NGINX_URL/blob.bin" 2>"$T/noca.err"
is "$?" 60 "without the CA the certificate is rejected (curl exit 60)"
is "$(curl -s --cacert "$NGINX_CA" -o /dev/null -w '%{http_code}' -r 0-9 "https://127.0.0.1:$NGINX_PORT/blob.bin")" \
    206 "https by IP (SAN 127.0.0.1) and range work"

http_pid=$(cat "$http_pidfile")
stop_nginx "$http_pidfile"
nok_cmd "stop_nginx stops the server" _pid_alive "$http_pid"

# ---- libvirtd ----
ensure_libvirtd
ok_cmd "libvirtd answers on qemu:///system" virsh -c qemu:///system list --all

# ---- overlays and synthetic fixtures (one appliance launch) ----
fixture_synthetic phony-debian "$T/phony.qcow2"
fixture_synthetic no-os "$T/noos.qcow2"
fixture_synthetic not-a-disk "$T/text.img"
overlay_of "$T/phony.qcow2" "$T/phony-ov.qcow2"
like "$(qemu-img info "$T/phony-ov.qcow2")" "backing file: $T/phony\\.qcow2" "overlay_of makes a qcow2 overlay"
like "$(head -c 200 "$T/text.img")" '^This is not a disk image' "not-a-disk is a text file"

out=$(guestfish --ro -a "$T/phony-ov.qcow2" -a "$T/noos.qcow2" <<'EOF' 2>&1
run
echo roots:
inspect-os
echo distro:
inspect-get-distro /dev/sda1
inspect-get-major-version /dev/sda1
inspect-get-hostname /dev/sda1
mount-ro /dev/sdb1 /
echo noos:
cat /hello.txt
EOF
)
like "$out" $'roots:\n/dev/sda1\ndistro:' "inspection finds exactly one root, on phony-debian" \
    || diag "$out"
like "$out" $'distro:\ndebian\n12\nphony\n' "phony-debian inspects as debian 12, hostname phony"
like "$out" $'noos:\nhello from kiln no-os fixture' "no-os holds its data files"

# ---- the Debian fixture (built on first use: minutes) ----
img=$(fixture_debian)
like "$(qemu-img info "$img" 2>&1)" 'file format: qcow2.*virtual size: 3 GiB' \
    "fixture_debian gives a 3 GiB qcow2 ($img)"
