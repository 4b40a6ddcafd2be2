#!/bin/bash
# demo.sh: make demo.  Builds the local Debian 12 fixture (a real bootable
# cloud-style image made with debootstrap, cached) and runs kiln on it.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
KILN=${KILN:-$TOP/build/kiln}

echo "== Building (or reusing) the Debian 12 fixture image"
img=$("$TOP/tests/fixtures/debian-image.sh")
echo "   $img"
echo
echo "== kiln inspect $img"
"$KILN" inspect "$img"
