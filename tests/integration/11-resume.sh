#!/bin/bash
# Interrupted downloads resume with Range (kiln killed with -9, a server
# that drops the connection mid-file), and 8 concurrent fetches of one
# image download it once.
. "$(dirname "$0")/lib.sh"
set -u

require_root
require_kiln
require_cmd nginx sha512sum sha256sum

plan 28

C=$T/cache
k() { "$KILN" -q --cache-dir "$C" "$@"; }
W=$T/www
mkdir -p "$W/slow"
head -c 16777216 /dev/urandom >"$W/big.raw"
ln "$W/big.raw" "$W/slow/big.raw"
head -c 8388608 /dev/urandom >"$W/conc.raw"
xz -T1 -0 -c "$W/conc.raw" >"$W/slow/conc.raw.xz"
SX=$(sha512sum <"$W/slow/conc.raw.xz" | cut -d' ' -f1)
S=$(sha512sum <"$W/big.raw" | cut -d' ' -f1)
SC=$(sha512sum <"$W/conc.raw" | cut -d' ' -f1)
SC256=$(sha256sum <"$W/conc.raw" | cut -d' ' -f1)
mkdir -p "$W/norange"
ln "$W/big.raw" "$W/norange/big.raw"
NGINX_EXTRA='location /slow/ { limit_rate 2m; }
        location /norange/ { limit_rate 4m; max_ranges 0; }
        location = /conc.raw { limit_rate 16m; }' start_nginx "$W"
U=$NGINX_URL

# part_size — bytes in the partial download of big.raw
part_size() { stat -c %s "$C/images/.part-sha512-$S" 2>/dev/null || echo 0; }
wait_part() {   # wait_part BYTES — until the partial file holds at least BYTES
    local i
    for i in $(seq 1 200); do
        [ "$(part_size)" -ge "$1" ] && return 0
        sleep 0.05
    done
    return 1
}
# fetch_bg SUM URL [OUT [ERR]] — with an empty cache, start kiln fetch of URL
# (checksum sha512:SUM) in the background and set pid (kiln itself, not a
# subshell, so that kill -9 reaches it); its output goes to OUT and ERR
fetch_bg() {
    rm -rf "$C"
    "$KILN" -q --cache-dir "$C" fetch --checksum "sha512:$1" "$2" >"${3:-/dev/null}" 2>"${4:-/dev/null}" &
    pid=$!
}

# ---- kill -9 mid-download, then run again ----
fetch_bg "$S" "$U/slow/big.raw"
wait_part 3000000
ok $? "the download is under way"
kill -9 "$pid"
wait "$pid" 2>/dev/null
have=$(part_size)
ok $(( have > 0 && have < 16777216 ? 0 : 1 )) "kill -9 leaves a partial download ($have bytes)"
is "$(find "$C/images" -name 'sha512-*' | wc -l)" 0 "and nothing under a final name"
out=$(k fetch --checksum "sha512:$S" "$U/big.raw")
ok $? "the rerun succeeds"
is "$(basename "${out:-none}")" "sha512-$S" "and publishes the verified image"
sleep 0.2
like "$(grep 'GET /big.raw ' "$NGINX_ACCESS_LOG")" "\" 206 [0-9]+ .* range=bytes=[0-9]+-" "it asked for the rest with Range (206)"
got=$(grep 'GET /big.raw ' "$NGINX_ACCESS_LOG" | awk '{print $10}')
is "$(( got + have >= 16777216 && got < 16777216 ? 1 : 0 ))" 1 "and downloaded only the missing part ($got bytes)"
is "$(find "$C/images" -name '.part-*' | wc -l)" 0 "the partial file is gone"

# ---- the server drops the connection mid-file: kiln resumes by itself ----
fetch_bg "$S" "$U/slow/big.raw" "$T/out" "$T/err"
wait_part 3000000
ok $? "the download is under way"
workers=$(pgrep -P "$(cat "$NGINX_PIDFILE")")
kill -9 $workers
wait "$pid"
ok $? "kiln survives a dropped connection"
is "$(basename "$(cat "$T/out")")" "sha512-$S" "and publishes the verified image"
sleep 0.3
like "$(grep 'GET /slow/big.raw ' "$NGINX_ACCESS_LOG" | tail -n 1)" '" 206 .*range=bytes=[0-9]+-' \
    "the retry asked for the rest with Range (206)"

# ---- a server that ignores Range: the file starts over, and verifies ----
fetch_bg "$S" "$U/norange/big.raw"
wait_part 3000000
kill -9 "$pid"
wait "$pid" 2>/dev/null
out=$(k fetch --checksum "sha512:$S" "$U/norange/big.raw")
is "$(basename "${out:-none}")" "sha512-$S" "a server ignoring Range: the download starts over and verifies"
sleep 0.2
like "$(grep 'GET /norange/big.raw ' "$NGINX_ACCESS_LOG" | tail -n 2 | tr '\n' ' ')" \
    '" 200 [0-9]+ .*range=bytes=[0-9]+- .*" 200 16777216 .*range=- $' \
    "(it asked for a range, got a 200, and fetched the whole file again)"

# ---- a complete partial file (kiln stopped before publishing it) ----
rm -rf "$C"
k cache list >/dev/null
cp "$W/big.raw" "$C/images/.part-sha512-$S"
out=$(k fetch --checksum "sha512:$S" "$U/big.raw")
is "$(basename "${out:-none}")" "sha512-$S" "a complete partial file is published"
sleep 0.2
like "$(tail -n 2 "$NGINX_ACCESS_LOG")" '"GET /big.raw HTTP/1.1" 416 .*"HEAD /big.raw HTTP/1.1" 200 0 ' \
    "after a 416 and a HEAD that says it is complete, with no download"

# ---- a partial file past the bound is not resumed, nor kept ----
rm -rf "$C"
k cache list >/dev/null
cp "$W/big.raw" "$C/images/.part-sha512-$S"
k fetch --max-size 8M --checksum "sha512:$S" "$U/big.raw" 2>"$T/err"
is $? 1 "a fetch whose file is past --max-size fails, even with a complete .part"
like "$(cat "$T/err")" 'announces 16\.0 MiB .*more than 8\.0 MiB \(--max-size\)' "saying so"
is "$(find "$C/images" -mindepth 1 | wc -l)" 0 "and the .part is gone"

# ---- compressed: unpacked while it downloads, and after a kill -9 too ----
fetch_bg "$SX" "$U/slow/conc.raw.xz"
grown=1
for i in $(seq 1 100); do
    sz=$(stat -c %s "$C"/images/.tmp-sha512-"$SX"-* 2>/dev/null | head -n 1)
    if [ "${sz:-0}" -gt 1000000 ]; then grown=0; break; fi
    sleep 0.05
done
ok $grown "the image is unpacked while the download goes on"
kill -9 "$pid"
wait "$pid" 2>/dev/null
out=$(k fetch --checksum "sha512:$SX" "$U/slow/conc.raw.xz")
is "$(basename "${out:-none}")" "sha256-$SC256" "after kill -9, the rerun resumes and unpacks the whole image"
is "$(find "$C/images" -name '.*' | wc -l)" 0 "no temporary file is left behind"

# ---- 8 concurrent fetches of one image: one download ----
rm -rf "$C"
pids=()
for i in 1 2 3 4 5 6 7 8; do
    "$KILN" -q --cache-dir "$C" fetch --checksum "sha512:$SC" "$U/conc.raw" >"$T/c$i.out" 2>"$T/c$i.err" &
    pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
is "$fails" 0 "8 concurrent fetches all succeed"
is "$(sort -u "$T"/c?.out | wc -l)" 1 "and print the same path"
is "$(basename "$(cat "$T/c1.out")")" "sha512-$SC" "the verified image"
sleep 0.3
is "$(grep -c 'GET /conc.raw ' "$NGINX_ACCESS_LOG")" 1 "nginx served the file once"

# ---- a progress bar on a terminal, none otherwise ----
if command -v script >/dev/null; then
    rm -rf "$C"
    script -qec "'$KILN' --cache-dir '$C' fetch --checksum sha512:$S '$U/big.raw'" /dev/null >"$T/tty.out" 2>&1
    like "$(tr '\r' '\n' <"$T/tty.out")" 'big\.raw.*(MiB|KiB|%)' "a progress bar on a terminal"
    rm -rf "$C"
    "$KILN" --cache-dir "$C" fetch --checksum "sha512:$S" "$U/big.raw" >/dev/null 2>"$T/notty.err"
    is "$(cat "$T/notty.err")" "" "nothing on stderr when it is not a terminal"
else
    skip 2 "script(1) not installed: no terminal to test the progress bar"
fi
