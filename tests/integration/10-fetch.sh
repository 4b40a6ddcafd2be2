#!/bin/bash
# kiln fetch of URLs against a real nginx on loopback: checksums verified
# while downloading, decompression, the cache, and bad input (flipped byte,
# truncated file, 404, 5xx, plain http without a checksum, TLS).
. "$(dirname "$0")/lib.sh"
set -u

require_root
require_kiln
require_cmd nginx openssl xz gzip zstd bzip2 tar sha512sum sha256sum

plan 48

C=$T/cache
k() { "$KILN" -q --cache-dir "$C" "$@"; }
cache_images() { find "$C/images" -maxdepth 1 -type f -name 'sha512-*' ! -name '*.meta' | wc -l; }
leftovers() { find "$C/images" -maxdepth 1 -name '.*' -type f | wc -l; }

W=$T/www
mkdir -p "$W"
# 3 MiB of data, then 2 MiB of zeros (a hole once cached), then data.
{ head -c 3145728 /dev/urandom; head -c 2097152 /dev/zero; head -c 4096 /dev/urandom; } >"$W/disk.raw"
S512=$(sha512sum <"$W/disk.raw" | cut -d' ' -f1)
S256=$(sha256sum <"$W/disk.raw" | cut -d' ' -f1)
xz -T1 -1 -k "$W/disk.raw"; gzip -k "$W/disk.raw"; zstd -q -k "$W/disk.raw"; bzip2 -k "$W/disk.raw"
(cd "$W" && tar cSJf disk.tar.xz disk.raw)
# An OVA-like container: a descriptor first, then the disk.
echo '<Envelope/>' >"$W/vm.ovf"
(cd "$W" && tar cf vm.ova vm.ovf disk.raw)
# A flipped byte and a truncated copy, served as if they were the real thing.
cp "$W/disk.raw" "$W/flipped.raw"
printf '\x55' | dd of="$W/flipped.raw" bs=1 seek=1000 conv=notrunc status=none
head -c 1000000 "$W/disk.raw" >"$W/truncated.raw"
printf '%s  disk.raw\n%s  disk.raw.xz\n' "$S512" "$(sha512sum <"$W/disk.raw.xz" | cut -d' ' -f1)" >"$W/SHA512SUMS"

NGINX_EXTRA='location = /flaky.raw { return 503; }
        location = /moved.raw { return 302 /disk.raw; }' start_nginx "$W"
U=$NGINX_URL

# ---- a good fetch, verified while it arrives ----
out=$(k fetch --checksum "sha512:$S512" "$U/disk.raw" 2>"$T/err")
ok $? "fetch with --checksum sha512 succeeds"
like "$out" "^$C/images/sha512-$S512\$" "prints the cached path, named by its sha512"
is "$(sha512sum <"$out" | cut -d' ' -f1)" "$S512" "the cached image is the file"
is "$(stat -c %a "$out")" 444 "the cached image is read-only"
ok $(( $(stat -c %b "$out") * 512 < 5242880 ? 0 : 1 )) "the zero blocks became a hole (sparse)"
is "$(leftovers)" 0 "no temporary or partial file left"

json=$(k --json fetch --checksum "sha512:$S512" "$U/disk.raw")
like "$json" '"from_cache" : true' "a second fetch comes from the cache"
is "$(grep -c 'GET /disk.raw ' "$NGINX_ACCESS_LOG")" 1 "and downloads nothing"
like "$json" "\"digest\" : \"sha512:$S512\"" "--json has the digest"
like "$json" '"format" : "raw"' "--json has the format"
like "$json" '"size" : 5246976' "--json has the size"

# ---- sha256, --sums, -o, redirects ----
rm -rf "$C"
out=$(k fetch --checksum "SHA256:${S256^^}" "$U/moved.raw" 2>"$T/err")
ok $? "fetch with a sha256 --checksum (upper case) through a redirect"
is "$(sha512sum <"$out" | cut -d' ' -f1)" "$S512" "the redirect's target was fetched"
rm -rf "$C"
ok_cmd "fetch with --sums (GNU SHA512SUMS)" k fetch --sums "$U/SHA512SUMS" "$U/disk.raw.xz"
nok_cmd "--sums without a line for the file is refused" k fetch --sums "$U/SHA512SUMS" "$U/disk.raw.gz"
like "$(cat "$T/last.out")" 'SHA512SUMS has no checksum for disk\.raw\.gz' "the error names the missing file"
ok_cmd "fetch -o FILE" k fetch --checksum "sha512:$S512" -o "$T/copy.raw" "$U/disk.raw"
is "$(sha512sum <"$T/copy.raw" | cut -d' ' -f1)" "$S512" "-o FILE is the verified image"

# ---- decompression: every format gives the same image ----
for f in disk.raw.xz disk.raw.gz disk.raw.zst disk.raw.bz2 disk.tar.xz; do
    rm -rf "$C"
    sum=$(sha256sum <"$W/$f" | cut -d' ' -f1)
    out=$(k fetch --checksum "sha256:$sum" "$U/$f" 2>"$T/err")
    is "$(basename "${out:-none}")" "sha512-$S512" "$f is unpacked to the same image"
done
ok $(( $(stat -c %b "$out") * 512 < 5242880 ? 0 : 1 )) "unpacked output is sparse"
rm -rf "$C"
out=$(k fetch --checksum "sha256:$(sha256sum <"$W/vm.ova" | cut -d' ' -f1)" "$U/vm.ova" 2>"$T/err")
is "$(basename "${out:-none}")" "sha512-$S512" "the disk is taken out of an OVA container, past its descriptor"
like "$(cat "$C/images/sha512-$S512.meta")" 'member=disk\.raw' "the tar member is recorded"

# ---- bad input loses nothing ----
rm -rf "$C"
k fetch --checksum "sha512:$S512" "$U/flipped.raw" 2>"$T/err"
is $? 1 "a flipped byte fails with exit 1"
err=$(cat "$T/err")
like "$err" 'checksum mismatch for flipped\.raw' "the error names the file"
like "$err" "expected sha512:$S512" "the error gives the expected digest"
like "$err" "got sha512:$(sha512sum <"$W/flipped.raw" | cut -d' ' -f1)" "the error gives the actual digest"
is "$(cache_images)$(leftovers)" 00 "nothing left in the cache"

k fetch --checksum "sha512:$S512" "$U/truncated.raw" 2>"$T/err"
is $? 1 "a truncated file fails"
like "$(cat "$T/err")" 'checksum mismatch for truncated\.raw .*1000000 bytes' "the error says how much arrived"
is "$(cache_images)$(leftovers)" 00 "nothing left in the cache"

k fetch --checksum "sha512:$S512" "$U/nothere.raw" 2>"$T/err"
is $? 1 "a 404 fails"
like "$(cat "$T/err")" 'nothere\.raw: the server answered HTTP 404' "the error says 404"
is "$(cache_images)$(leftovers)" 00 "nothing left in the cache"

start=$(date +%s)
k fetch --checksum "sha512:$S512" "$U/flaky.raw" 2>"$T/err"
is $? 1 "a server answering 503 fails in the end"
is "$(grep -c 'GET /flaky.raw ' "$NGINX_ACCESS_LOG")" 4 "after 4 attempts"
ok $(( $(date +%s) - start >= 3 ? 0 : 1 )) "with backoff between them"

k fetch "$U/disk.raw" 2>"$T/err"
is $? 1 "plain http:// without a checksum is refused"
like "$(cat "$T/err")" 'plain http:// with nothing to verify against.*--insecure' "the error says what to do"
out=$(k fetch --insecure "$U/disk.raw")
is "$(basename "${out:-none}")" "sha512-$S512" "--insecure takes it anyway"

nok_cmd "a malformed --checksum is a usage error" k fetch --checksum "sha1:abc" "$U/disk.raw"
nok_cmd "an unsupported scheme is refused" k fetch "ftp://127.0.0.1/disk.raw"

# ---- https with the test's CA ----
start_nginx "$W" https
rm -rf "$C"
out=$(CURL_CA_BUNDLE=$NGINX_CA k fetch "$NGINX_URL/disk.raw" 2>"$T/err")
is "$(basename "${out:-none}")" "sha512-$S512" "https with the test CA (CURL_CA_BUNDLE) needs no checksum"
CURL_CA_BUNDLE= k fetch "$NGINX_URL/disk.raw.gz" 2>"$T/err"
is $? 1 "https with an unknown CA is refused"
like "$(cat "$T/err")" 'TLS verification failed' "the error says TLS verification failed"
