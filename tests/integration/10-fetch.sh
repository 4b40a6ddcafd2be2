#!/bin/bash
# kiln fetch of URLs against a real nginx on loopback: checksums verified
# while downloading, decompression, the cache, and bad input (flipped byte,
# truncated file, 404, 5xx, plain http without a checksum or with checksums
# over plain http, TLS, endless bodies and decompression bombs past
# --max-size or the index's sizes).
. "$(dirname "$0")/lib.sh"
set -u

require_root
require_kiln
require_cmd nginx openssl xz gzip zstd bzip2 tar sha512sum sha256sum

plan 88

C=$T/cache
k() { "$KILN" -q --cache-dir "$C" "$@"; }
cache_images() { find "$C/images" -maxdepth 1 -type f -name 'sha*-*' ! -name '*.meta' | wc -l; }
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
flip_byte "$W/flipped.raw" 1000
cmp -s "$W/disk.raw" "$W/flipped.raw" && bail_out "flip_byte left flipped.raw unchanged"
head -c 1000000 "$W/disk.raw" >"$W/truncated.raw"
printf '%s  disk.raw\n%s  disk.raw.xz\n' "$S512" "$(sha512sum <"$W/disk.raw.xz" | cut -d' ' -f1)" >"$W/SHA512SUMS"
# A decompression bomb: 64 MiB of zeros in a 64 KiB gzip file.
head -c 67108864 /dev/zero | gzip -c >"$W/bomb.raw.gz"
BOMB256=$(sha256sum <"$W/bomb.raw.gz" | cut -d' ' -f1)
BOMB512=$(sha512sum <"$W/bomb.raw.gz" | cut -d' ' -f1)
# Served under /chunked/ through SSI, which drops Content-Length: a body
# whose end only the connection tells (what an endless one looks like).
mkdir -p "$W/chunked"
cp "$W/disk.raw" "$W/chunked/disk.raw"

NGINX_EXTRA='location = /flaky.raw { return 503; }
        location = /moved.raw { return 302 /disk.raw; }
        location /chunked/ { ssi on; ssi_types *; }' start_nginx "$W"
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
sleep 0.3
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
is "$(basename "${out:-none}")" "sha256-$S256" "stored as downloaded, named by the sha256 it was checked with"
rm -rf "$C"
# Checksums over plain http prove nothing: whoever can rewrite the image
# on the way can rewrite them too.
nok_cmd "--sums over plain http:// is refused" k fetch --sums "$U/SHA512SUMS" "$U/disk.raw.xz"
like "$(cat "$T/last.out")" '--sums http://.* is plain http://.*https://.*--checksum.*--insecure' \
    "saying why and what to do instead"
sleep 0.3
is "$(grep -c 'GET /disk.raw.xz ' "$NGINX_ACCESS_LOG")" 0 "and downloads nothing"
json=$("$KILN" --json --cache-dir "$C" fetch --insecure --sums "$U/SHA512SUMS" "$U/disk.raw.xz" 2>"$T/err")
like "$json" '"verified" : false' "with --insecure it is fetched, but not counted as verified"
like "$json" '"verification" : "NOT verified: it matched the checksum in http://[^"]*SHA512SUMS, but that came over plain http' \
    "--json says what was and was not verified"
like "$(cat "$T/err")" 'warning: .*disk\.raw\.xz was not verified: NOT verified' "and kiln warns"
nok_cmd "--sums without a line for the file is refused" k fetch --insecure --sums "$U/SHA512SUMS" "$U/disk.raw.gz"
like "$(cat "$T/last.out")" 'SHA512SUMS has no checksum for disk\.raw\.gz' "the error names the missing file"
like "$(k --json fetch --checksum "sha512:$S512" "$U/disk.raw")" '"verification" : "matched the checksum given, sha512:' \
    "a --checksum given on the command line counts as verification"
ok_cmd "fetch -o FILE" k fetch --checksum "sha512:$S512" -o "$T/copy.raw" "$U/disk.raw"
is "$(sha512sum <"$T/copy.raw" | cut -d' ' -f1)" "$S512" "-o FILE is the verified image"

# ---- decompression: every format gives the same image, named by the
# SHA-256 of its bytes (what kiln hashes while it writes them) ----
for f in disk.raw.xz disk.raw.gz disk.raw.zst disk.raw.bz2 disk.tar.xz; do
    rm -rf "$C"
    sum=$(sha256sum <"$W/$f" | cut -d' ' -f1)
    out=$(k fetch --checksum "sha256:$sum" "$U/$f" 2>"$T/err")
    is "$(basename "${out:-none}")" "sha256-$S256" "$f is unpacked to the same image, named by its sha256"
done
ok $(( $(stat -c %b "$out") * 512 < 5242880 ? 0 : 1 )) "unpacked output is sparse"
rm -rf "$C"
out=$(k fetch --checksum "sha256:$(sha256sum <"$W/vm.ova" | cut -d' ' -f1)" "$U/vm.ova" 2>"$T/err")
is "$(basename "${out:-none}")" "sha256-$S256" "the disk is taken out of an OVA container, past its descriptor"
like "$(cat "$C/images/sha256-$S256.meta")" 'member=disk\.raw' "the tar member is recorded"
json=$(k --json fetch --checksum "sha256:$(sha256sum <"$W/vm.ova" | cut -d' ' -f1)" "$U/vm.ova")
like "$json" "\"digest\" : \"sha256:$S256\"" "from the cache, --json gives the image's sha256 as its digest"
like "$json" "\"source_digest\" : \"sha256:$(sha256sum <"$W/vm.ova" | cut -d' ' -f1)\"" "and the download's as its source"
# A checksum is the download's: the unpacked image's own sha256 given for
# a compressed file fails as it would with an empty cache.
k fetch --checksum "sha256:$S256" "$U/disk.raw.xz" 2>"$T/err"
is $? 1 "the unpacked image's sha256 as a .xz's checksum fails, though that image is cached"
like "$(cat "$T/err")" "checksum mismatch" "as a checksum mismatch, as without the cache"
json=$(k --json fetch --checksum "sha256:$S256" "$U/disk.raw")
like "$json" '"from_cache" : false' "the raw file with that sha256 is downloaded"
is "$(cache_images)" 1 "and is the same entry: one image for the same bytes"


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
sleep 0.3   # nginx logs a request after its answer is sent
is "$(grep -c 'GET /flaky.raw ' "$NGINX_ACCESS_LOG")" 4 "after 4 attempts"
ok $(( $(date +%s) - start >= 3 ? 0 : 1 )) "with backoff between them"

k fetch "$U/disk.raw" 2>"$T/err"
is $? 1 "plain http:// without a checksum is refused"
like "$(cat "$T/err")" 'plain http:// with nothing to verify against.*--insecure' "the error says what to do"
out=$("$KILN" --cache-dir "$C" fetch --insecure "$U/disk.raw" 2>"$T/err")
is "$(basename "${out:-none}")" "sha512-$S512" "--insecure takes it anyway"
like "$(cat "$T/err")" 'warning: .*disk\.raw was not verified' "and warns that it was not verified"
like "$(k --json fetch --checksum "sha512:$S512" "$U/disk.raw")" '"verified" : true' "--json says when it was verified"

nok_cmd "a malformed --checksum is a usage error" k fetch --checksum "sha1:abc" "$U/disk.raw"
nok_cmd "an unsupported scheme is refused" k fetch "ftp://127.0.0.1/disk.raw"

# ---- https with the test's CA ----
HTTP_U=$U
NGINX_EXTRA="location = /downgrade.raw { return 302 $U/disk.raw; }" start_nginx "$W" https
rm -rf "$C"
out=$(CURL_CA_BUNDLE=$NGINX_CA k fetch "$NGINX_URL/disk.raw" 2>"$T/err")
is "$(basename "${out:-none}")" "sha512-$S512" "https with the test CA (CURL_CA_BUNDLE) needs no checksum"
CURL_CA_BUNDLE= k fetch "$NGINX_URL/disk.raw.gz" 2>"$T/err"
is $? 1 "https with an unknown CA is refused"
like "$(cat "$T/err")" 'TLS verification failed' "the error says TLS verification failed"
rm -rf "$C"
CURL_CA_BUNDLE=$NGINX_CA k fetch --checksum "sha512:$S512" "$NGINX_URL/downgrade.raw" 2>"$T/err"
is $? 1 "a redirect from https to plain http is refused"
like "$(cat "$T/err")" 'downgrade\.raw: .*(Protocol|protocol|not supported|disabled)' "saying the protocol is not allowed"
rm -rf "$C"
json=$(CURL_CA_BUNDLE=$NGINX_CA k --json fetch --sums "$NGINX_URL/SHA512SUMS" "$HTTP_U/disk.raw.xz")
like "$json" '"verified" : true' "--sums over https verifies a plain http:// download"
like "$json" '"verification" : "matched the checksum in https://[^"]*SHA512SUMS \(fetched over https\)"' \
    "and says so"

# ---- bounds: --max-size, the default, the index's sizes ----
leftover_all() { find "$C/images" -mindepth 1 -maxdepth 1 | wc -l; }
U=$HTTP_U
rm -rf "$C"
k fetch --max-size 1M --checksum "sha256:$BOMB256" "$U/bomb.raw.gz" 2>"$T/err"
is $? 1 "a 64 KiB gzip unpacking to 64 MiB is refused with --max-size 1M"
like "$(cat "$T/err")" 'bomb\.raw\.gz.* unpacks to more than 1\.0 MiB \(--max-size\)' "the error names the bound and where it comes from"
is "$(leftover_all)" 0 "nothing is left in the cache (no image, no .tmp, no .part)"
rm -rf "$C"
GZ256=$(sha256sum <"$W/disk.raw.gz" | cut -d' ' -f1)
k fetch --max-size 5M --checksum "sha256:$GZ256" "$U/disk.raw.gz" 2>"$T/err"
like "$(cat "$T/err")" 'unpacks to more than 5\.0 MiB' "an image 4 KiB past --max-size is refused (5 MiB + 4 KiB > 5M)"
out=$(k fetch --max-size 6M --checksum "sha256:$GZ256" "$U/disk.raw.gz" 2>"$T/err")
is "$(basename "${out:-none}")" "sha256-$S256" "and accepted under a bound it fits"
nok_cmd "--max-size takes a size" k fetch --max-size lots "$U/disk.raw"
like "$(cat "$T/last.out")" '--max-size' "the usage error names the option"

rm -rf "$C"
k fetch --max-size 1M --checksum "sha512:$S512" "$U/disk.raw" 2>"$T/err"
is $? 1 "a Content-Length past --max-size is refused"
like "$(cat "$T/err")" 'disk\.raw: the server announces 5\.0 MiB \(5246976 bytes\), more than 1\.0 MiB \(--max-size\)' \
    "before the body, saying how big"
is "$(leftover_all)" 0 "nothing is left in the cache"
headers=$(curl -s -D - -o /dev/null "$U/chunked/disk.raw")
like "$headers" '[Tt]ransfer-[Ee]ncoding: chunked' "(the test server sends /chunked/ without Content-Length)"
rm -rf "$C"
k fetch --max-size 1M --checksum "sha512:$S512" "$U/chunked/disk.raw" 2>"$T/err"
is $? 1 "a body without Content-Length that goes past --max-size is refused"
like "$(cat "$T/err")" 'chunked/disk\.raw: the server sent more than 1\.0 MiB \(--max-size\): stopped' "and stopped"
is "$(leftover_all)" 0 "nothing is left in the cache, not even a .part"
out=$(k fetch --max-size 6M --checksum "sha512:$S512" "$U/chunked/disk.raw")
is "$(basename "${out:-none}")" "sha512-$S512" "the same body within the bound is fetched"

# The index's size= bounds what its entry unpacks to, compressed_size= what
# is downloaded.
export KILN_REPOS_DIR=$T/repos.d
mkdir -p "$KILN_REPOS_DIR" "$T/repo"
cp "$W/bomb.raw.gz" "$W/disk.raw.gz" "$T/repo/"
printf '[local]\nuri=%s\n' "$T/repo" >"$KILN_REPOS_DIR/local.conf"
printf '[bomb]\nfile=bomb.raw.gz\nchecksum[sha512]=%s\nsize=1048576\nformat=raw\n\n[short]\nfile=disk.raw.gz\nchecksum[sha512]=%s\ncompressed_size=1000\nformat=raw\n' \
    "$BOMB512" "$(sha512sum <"$W/disk.raw.gz" | cut -d' ' -f1)" >"$T/repo/index"
rm -rf "$C"
k fetch bomb 2>"$T/err"
is $? 1 "a template unpacking past its index's size= is refused"
like "$(cat "$T/err")" "unpacks to more than .*the size= of repository local's index, 1048576 bytes" "naming the index's size="
is "$(leftover_all)" 0 "nothing is left in the cache"
k fetch short 2>"$T/err"
is $? 1 "a download longer than its index's compressed_size= is refused"
like "$(cat "$T/err")" "more than 1000 B \(the compressed_size= of repository local's index\)" "naming compressed_size="
is "$(leftover_all)" 0 "nothing is left in the cache"
unset KILN_REPOS_DIR
