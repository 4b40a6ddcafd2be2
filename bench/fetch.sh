#!/bin/bash
# bench/fetch.sh — kiln fetch (download + sha512 verification + cache
# publish) of a ~400 MB file from loopback nginx, against what a user would
# do otherwise: curl -o, then sha512sum.  Also kiln's peak RSS.
#   KILN=build/kiln bash bench/fetch.sh [SIZE_MB] [RUNS]
. "$(dirname "$0")/../tests/integration/lib.sh"
set -u
KILN=${KILN:-$TOP/build/kiln}
size=${1:-400}
runs=${2:-3}
mkdir -p "$T/www"
# Random data: a worst case for kiln (no zero blocks to skip writing).
head -c "$((size * 1048576))" /dev/urandom >"$T/www/img.raw"
sum=$(sha512sum <"$T/www/img.raw" | cut -d' ' -f1)
start_nginx "$T/www" >/dev/null
url=$NGINX_URL/img.raw
now() { date +%s.%N; }
best() { sort -n | head -n 1; }

for i in $(seq 1 "$runs"); do
    rm -f "$T/curl.raw"
    t0=$(now)
    curl -fsS -o "$T/curl.raw" "$url"
    t1=$(now)
    sha512sum "$T/curl.raw" >/dev/null
    t2=$(now)
    echo "$(echo "$t2 - $t0" | bc) $(echo "$t1 - $t0" | bc) $(echo "$t2 - $t1" | bc)" >>"$T/curl.times"
    rm -rf "$T/cache"
    /usr/bin/time -f '%e %M' -o "$T/kiln.time" "$KILN" -q --cache-dir "$T/cache" fetch --checksum "sha512:$sum" "$url" >/dev/null
    cat "$T/kiln.time" >>"$T/kiln.times"
done
c=$(sort -n "$T/curl.times" | head -n 1)
kt=$(awk '{print $1}' "$T/kiln.times" | best)
rss=$(awk '{print $2}' "$T/kiln.times" | sort -n | tail -n 1)
echo "file: ${size} MiB from loopback nginx, best of $runs runs"
echo "curl -o + sha512sum: $(echo "$c" | awk '{printf "%.2f s (curl %.2f s + sha512sum %.2f s)", $1, $2, $3}')"
echo "kiln fetch --checksum sha512: ${kt} s, peak RSS $((rss / 1024)) MiB"
