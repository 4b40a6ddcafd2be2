#!/bin/bash
# Repositories: kiln repo index (+ Ed25519 signature), kiln list, kiln
# fetch TEMPLATE through native and sums repositories over a real nginx,
# wrong and missing signatures, malformed indexes, OpenPGP via gpgme.
. "$(dirname "$0")/lib.sh"
set -u

require_root
require_kiln
require_cmd nginx openssl gpg gpgconf xz sha512sum

plan 54

C=$T/cache
export KILN_REPOS_DIR=$T/repos.d
mkdir -p "$KILN_REPOS_DIR"
k() { "$KILN" -q --cache-dir "$C" "$@"; }
conf() { printf '%s\n' "$@" >"$KILN_REPOS_DIR/test.conf"; }

W=$T/www
mkdir -p "$W/native" "$W/sums" "$W/bad" "$W/gpg"
head -c 1048576 /dev/urandom >"$W/native/tiny-amd64.raw"
cp "$W/native/tiny-amd64.raw" "$W/native/other-amd64.raw"
printf 'x' >>"$W/native/other-amd64.raw"
xz -T1 -1 -k "$W/native/other-amd64.raw" && rm "$W/native/other-amd64.raw"
S512=$(sha512sum <"$W/native/tiny-amd64.raw" | cut -d' ' -f1)

openssl genpkey -algorithm ed25519 -out "$T/key.pem" 2>/dev/null
openssl pkey -in "$T/key.pem" -pubout -out "$T/pub.pem"
openssl genpkey -algorithm ed25519 -out "$T/other.pem" 2>/dev/null
openssl pkey -in "$T/other.pem" -pubout -out "$T/otherpub.pem"

# ---- kiln repo index ----
ok_cmd "kiln repo index DIR --sign KEY" k repo index "$W/native" --sign "$T/key.pem"
idx=$(cat "$W/native/index")
like "$idx" $'\\[tiny-amd64\\]\nname=tiny-amd64\nfile=tiny-amd64\\.raw\nchecksum\\[sha512\\]='"$S512" "the index has the image and its sha512"
like "$idx" 'size=1048576' "and its size"
like "$idx" $'\\[other-amd64\\]\nname=other-amd64\nfile=other-amd64\\.raw\\.xz' "compressed images are indexed too"
ok_cmd "index.sig verifies with openssl" bash -c \
    "base64 -d '$W/native/index.sig' >'$T/sig.bin' && openssl pkeyutl -verify -pubin -inkey '$T/pub.pem' -rawin -in '$W/native/index' -sigfile '$T/sig.bin'"
nok_cmd "kiln repo index of a directory without images fails" k repo index "$W/bad"
sed -i 's/^name=tiny-amd64$/name=Tiny test image\nosinfo=debian12/' "$W/native/index"
ok_cmd "kiln repo index again" k repo index "$W/native" --sign "$T/key.pem"
like "$(cat "$W/native/index")" $'name=Tiny test image\nfile=tiny-amd64\\.raw\n.*osinfo=debian12' \
    "keeps what a person added to the index (name=, osinfo=)"

# ---- awkward file names: the writer makes section names the reader takes ----
A=$T/awkward
mkdir -p "$A"
for f in 'a]b-amd64.raw' 'my image (1).raw' 'x=y#z.raw' $'d\xc3\xa9bian 13.raw' '[br]ack.raw' '.hidden.raw'; do
    cp "$W/native/tiny-amd64.raw" "$A/$f"
done
ok_cmd "kiln repo index of awkward file names" k repo index "$A"
unlike "$(cat "$A/index")" '\[a\]b' "no ']' inside a section name"
conf "[awkward]" "uri=$A"
list=$(k list 2>&1)
like "$list" $'a-b-amd64 +x86_64 +a]b-amd64\n' "a]b-amd64.raw is template a-b-amd64, its name= kept"
like "$list" 'my-image-1 .*x-y-z |x-y-z .*my-image-1 ' "blanks, brackets, '=' and '#' become '-'"
like "$list" 'd-bian-13 .*br-ack|br-ack .*d-bian-13' "non-ASCII letters and leading brackets too"
unlike "$list" 'hidden|unusable|kiln:' "dot files are not indexed; nothing is unusable"
out=$(k fetch 'my-image-1')
is "$(basename "${out:-none}")" "sha512-$S512" "and a template of an awkward file is fetched"
cp "$A/my image (1).raw" "$A/my image [1].raw"
nok_cmd "two files that would be one template are refused" k repo index "$A"
like "$(cat "$T/last.out")" 'would both be template my-image-1' "naming both"
rm "$A/my image [1].raw"
cp "$A/x=y#z.raw" "$A/"$'new\nline.raw'
nok_cmd "a file name with a newline is refused" k repo index "$A"
rm "$A/"$'new\nline.raw'

start_nginx "$W"
U=$NGINX_URL

# ---- list and fetch through a signed native repository ----
conf "[native]" "uri=$U/native" "pubkey=$T/pub.pem"
list=$(k list)
ok $? "kiln list"
like "$list" 'tiny-amd64 +x86_64' "lists the templates with their arch"
like "$(k list --long)" "Checksum: +sha512:$S512" "--long shows the checksum"
like "$(k --json fetch tiny-amd64)" '"osinfo" : "debian12"' "fetch --json gives the osinfo id from the index"
like "$(k --json list)" '"repository" : "native"' "--json names the repository"
out=$(k fetch tiny-amd64)
is "$(basename "${out:-none}")" "sha512-$S512" "fetch TEMPLATE through the signed repository"
out=$(k fetch other-amd64)
ok $? "a compressed template is fetched and unpacked"
is "$(head -c 1048576 "$out" | sha512sum | cut -d' ' -f1)" "$S512" "with the right content"
nok_cmd "an unknown template is an error" k fetch nosuch
like "$(cat "$T/last.out")" 'no repository offers a template named nosuch' "saying so"
nok_cmd "a template of another arch is refused" k fetch --arch aarch64 tiny-amd64
like "$(cat "$T/last.out")" 'exists for x86_64, not aarch64' "saying which arch it has"

# ---- wrong and missing signatures ----
rm -rf "$C"
conf "[native]" "uri=$U/native" "pubkey=$T/otherpub.pem"
nok_cmd "a signature by another key is refused" k fetch tiny-amd64
like "$(cat "$T/last.out")" 'bad signature' "the error says bad signature"
cp "$W/native/index" "$T/index.orig"
sed -i 's/^osinfo=debian12/osinfo=tampered/' "$W/native/index"
conf "[native]" "uri=$U/native" "pubkey=$T/pub.pem"
nok_cmd "a tampered index is refused" k fetch tiny-amd64
cp "$T/index.orig" "$W/native/index"
mv "$W/native/index.sig" "$W/native/index.sig.away"
nok_cmd "a missing signature is refused when pubkey= is set" k fetch tiny-amd64
like "$(cat "$T/last.out")" 'not signed.*pubkey=' "the error says the index is not signed"
nok_cmd "kiln list fails on that repository too" k list
is "$(find "$C/images" -name 'sha*-*' 2>/dev/null | wc -l)" 0 "nothing was cached"
mv "$W/native/index.sig.away" "$W/native/index.sig"

# ---- plain http without a key ----
conf "[native]" "uri=$U/native"
nok_cmd "an unsigned http:// repository is refused" k fetch tiny-amd64
like "$(cat "$T/last.out")" 'plain http:// and has no pubkey= or gpgkey=' "saying why"
ok_cmd "unless --insecure" k fetch --insecure tiny-amd64

# ---- malformed indexes ----
for case in dup-section dup-key no-file dotdot url; do
    case $case in
    dup-section) printf '[a]\nfile=a.raw\n\n[a]\nfile=b.raw\n' ;;
    dup-key)     printf '[a]\nfile=a.raw\nfile=b.raw\n' ;;
    no-file)     printf '[a]\nformat=raw\n' ;;
    dotdot)      printf '[a]\nfile=../native/tiny-amd64.raw\n' ;;
    url)         printf '[a]\nfile=http://127.0.0.1:1/x.raw\n' ;;
    esac >"$W/bad/index"
    conf "[bad]" "uri=$U/bad"
    k fetch --insecure a >"$T/last.out" 2>&1
    like "$? $(cat "$T/last.out")" '^1 .*index line [0-9]+:' "index with $case is refused, naming the line"
done

# ---- a sums repository (Debian's layout) ----
cp "$W/native/tiny-amd64.raw" "$W/sums/debian-13-genericcloud-amd64.raw"
(cd "$W/sums" && sha512sum debian-13-genericcloud-amd64.raw >SHA512SUMS)
start_nginx "$W" https
conf "[debian]" "uri=$NGINX_URL/sums" "format=sums" "aliases=debian-13=debian-13-genericcloud-amd64"
export CURL_CA_BUNDLE=$NGINX_CA
like "$(k list)" 'debian-13-genericcloud-amd64 +x86_64' "a sums repository lists its images"
out=$(k fetch debian-13)
is "$(basename "${out:-none}")" "sha512-$S512" "an alias of a sums repository fetches over https"

# A sums repository with pubkey=: SHA512SUMS.sig, made here with openssl.
openssl pkeyutl -sign -rawin -inkey "$T/key.pem" -in "$W/sums/SHA512SUMS" | base64 -w0 >"$W/sums/SHA512SUMS.sig"
conf "[debian]" "uri=$NGINX_URL/sums" "format=sums" "pubkey=$T/pub.pem"
ok_cmd "a sums repository with an Ed25519 SHA512SUMS.sig" k fetch debian-13-genericcloud-amd64
conf "[debian]" "uri=$NGINX_URL/sums" "format=sums" "pubkey=$T/otherpub.pem"
nok_cmd "refused with another key" k fetch debian-13-genericcloud-amd64

# ---- OpenPGP (gpgme) ----
G=$T/gnupg
mkdir -m 700 "$G"
gpg --homedir "$G" --batch --passphrase '' --quick-gen-key 'kiln test <test@kiln.invalid>' ed25519 sign never 2>/dev/null
gpg --homedir "$G" --armor --export >"$T/gpgkey.asc"
G2=$T/gnupg2
mkdir -m 700 "$G2"
gpg --homedir "$G2" --batch --passphrase '' --quick-gen-key 'other <o@kiln.invalid>' ed25519 sign never 2>/dev/null
gpg --homedir "$G2" --armor --export >"$T/gpgother.asc"
gpg --homedir "$G" --batch --yes --detach-sign -o "$W/sums/SHA512SUMS.sign" "$W/sums/SHA512SUMS"
cp "$W/native/index" "$W/gpg/index"
cp "$W/native/tiny-amd64.raw" "$W/gpg/"
gpg --homedir "$G" --batch --yes --clearsign -o "$W/gpg/index.asc" "$W/gpg/index"
gpgconf --homedir "$G" --kill gpg-agent 2>/dev/null
gpgconf --homedir "$G2" --kill gpg-agent 2>/dev/null
rm -rf "$C"
conf "[debian]" "uri=$NGINX_URL/sums" "format=sums" "gpgkey=$T/gpgkey.asc"
out=$(k fetch debian-13-genericcloud-amd64)
is "$(basename "${out:-none}")" "sha512-$S512" "SHA512SUMS.sign verified with gpgme"
conf "[debian]" "uri=$NGINX_URL/sums" "format=sums" "gpgkey=$T/gpgother.asc"
nok_cmd "a SHA512SUMS.sign by another key is refused" k fetch debian-13-genericcloud-amd64
like "$(cat "$T/last.out")" 'bad OpenPGP signature|no OpenPGP signature' "the error says the OpenPGP signature is bad"
conf "[vb]" "uri=$NGINX_URL/gpg" "gpgkey=$T/gpgkey.asc"
out=$(k fetch tiny-amd64)
is "$(basename "${out:-none}")" "sha512-$S512" "a virt-builder style clearsigned index.asc is verified"
printf '[x]\nfile=x.raw\n' >"$W/gpg/index.asc"
nok_cmd "an unsigned index.asc is refused" k fetch tiny-amd64
