#!/bin/bash
# deps.sh: install the Debian packages kiln needs to build, test and run
# (make deps).  A no-op when they are all present; as non-root it only
# says what is missing.
set -euo pipefail

packages=(
  # build
  build-essential pkg-config scdoc
  libguestfs-dev libvirt-dev libosinfo-1.0-dev libcurl4-openssl-dev
  libarchive-dev liblzma-dev libssl-dev libcrypt-dev libyaml-dev libxml2-dev
  libglib2.0-dev libjson-glib-dev libblkid-dev libgpgme-dev
  # run: the appliance needs a kernel in /boot, qemu, and osinfo data
  libguestfs-tools guestfish linux-image-amd64 qemu-system-x86 qemu-utils
  osinfo-db libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu
  dnsmasq-base ovmf
  # tests and fixtures
  # 45-remote: an sshd on loopback to reach a second libvirt over qemu+ssh
  openssh-server
  nginx debootstrap extlinux syslinux-common gnupg openssl curl ca-certificates
  xz-utils zstd bzip2 e2fsprogs fdisk parted time util-linux python3 perl
  gdisk dosfstools
  # 63-phony-guests: the phony rpm/apk/pacman guests (tests/fixtures/phony-guests.sh)
  busybox-static rpm
  # fuzzing (make fuzz, make check-fuzz): clang with libFuzzer and the
  # sanitizer runtimes, llvm-symbolizer for the reports
  clang-14 libclang-rt-14-dev llvm-14
  # bench: the tools kiln is measured against
  virtinst
  # packaging: make deb (dpkg-buildpackage), lintian (tests/integration/70-deb.sh)
  debhelper dpkg-dev fakeroot lintian
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "kiln: these Debian packages are missing: ${missing[*]}" >&2
  echo "kiln: run 'sudo make deps' (or install them), then try again." >&2
  exit 1
fi
echo "kiln: installing ${#missing[@]} Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
