#!/usr/bin/env bash
# A Debian root filesystem for the gateway VM (tests/vm/test-vm-gateway.sh):
# systemd as PID 1, dbus, udev, PipeWire, WirePlumber, BlueZ (and btvirt)
# and the libraries ttwsd, ttwsctl and ttws-earbud-sim link against, made
# with mmdebstrap from Debian packages only, through the suites this
# machine's apt reads its own release from (its host's codename, so the
# binaries built here run in it unchanged). Prints the path of the ext4
# image on stdout.
#
#   rootfs.sh
#
# Cached as TTWS_VM_CACHE/rootfs-SUITE-KEY/rootfs.ext4 (default cache
# ~/.cache/ttws-vm), KEY a hash of the package list, the sources and this
# script's recipe version: a change to any of them builds a new one (the
# old folder is removed). The image is never written to: the VM opens it
# with qemu's snapshot=on, so a boot's writes go to a throw-away overlay.
#
# Environment:
#   TTWS_VM_CACHE        cache folder (shared with build.sh's kernels)
#   TTWS_VM_ROOTFS_SIZE  the image's size (default 2G; sparse)
set -euo pipefail

CACHE=${TTWS_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ttws-vm}
# Bump when what is done to the tree below changes (not the package list:
# that is part of the key by itself).
RECIPE=1
# What the gateway needs at run time. The libraries are those `ldd` and
# `dpkg -S` name for ttwsd, ttwsctl and ttws-earbud-sim here (libbluetooth3
# for the bluez feature); the rest is the system under test (systemd, its
# udev, dbus, PipeWire with its tools and session manager, BlueZ and its
# btvirt) and the checker's tools (jq; util-linux's chrt and setpriv are
# in minbase; procps for ps).
PACKAGES=(systemd udev dbus
	pipewire pipewire-bin wireplumber
	bluez bluez-test-tools
	liburing2 libinih1 liblc3-0 libbluetooth3 libsystemd0 libspandsp2
	libpipewire-0.3-0 libjson-c5 libcap2
	jq procps)

die() { printf 'vm/rootfs: %s\n' "$*" >&2; exit 1; }
note() { printf 'vm/rootfs: %s\n' "$*" >&2; }

for t in mmdebstrap mke2fs sha256sum; do
	command -v "$t" >/dev/null ||
		die "$t not found: run ./dev setup (mmdebstrap, e2fsprogs)"
done

# The host's release and the archives its apt reads it from (main and its
# -updates and -security suites), as deb lines for mmdebstrap.
# shellcheck disable=SC1091
suite=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
[[ -n $suite ]] || die "no VERSION_CODENAME in /etc/os-release"
# shellcheck disable=SC2016 # apt's own $(FIELD) syntax
sources=$(apt-get indextargets --no-release-info \
	--format '$(RELEASE) $(REPO_URI)' 'Identifier: Packages' 2>/dev/null |
	awk -v s="$suite" '$1 == s || $1 == s "-updates" || $1 == s "-security" {
		print "deb " $2 " " $1 " main" }' | sort -u)
grep -q " $suite main\$" <<<"$sources" ||
	die "this machine's apt has no lists for $suite (run apt-get update)"

key=$(printf '%s\n' "$RECIPE" "$suite" "$sources" "${PACKAGES[@]}" |
	sha256sum | cut -c1-16)
dir=$CACHE/rootfs-$suite-$key
img=$dir/rootfs.ext4
mkdir -p "$CACHE"
exec {lock}>"$CACHE/.rootfs.lock"
flock "$lock"
if [[ -f $dir/.complete ]]; then
	printf '%s\n' "$img"
	exit 0
fi

((EUID == 0)) ||
	die "building the root filesystem needs root (mmdebstrap into a folder whose owners mke2fs copies)"
note "building the $suite root filesystem (once; cached in $dir)"
start=$(date +%s)
tmp=$(mktemp -d "$CACHE/.rootfs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
include=$(IFS=,; printf '%s' "${PACKAGES[*]}")
# minbase + the list; no recommends (what is needed is named). The apt
# lists and package cache are dropped from the image. Into a folder, as
# root: mke2fs -d copies owners and modes from it (e2fsprogs 1.47.0 cannot
# read a tarball, and a tarball unpacked by another user loses its owners).
mapfile -t mirrors <<<"$sources"
if ! timeout -k 10 1500 mmdebstrap --variant=minbase --include="$include" \
	--aptopt='APT::Install-Recommends "false"' \
	--skip=output/dev \
	--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
	--customize-hook="chroot \"\$1\" dpkg-query -W -f '\${Package} \${Version}\n' >'$tmp/packages.txt'" \
	"$suite" "$tmp/root" "${mirrors[@]}" >"$tmp/mmdebstrap.log" 2>&1; then
	tail -n 40 "$tmp/mmdebstrap.log" >&2
	die "mmdebstrap failed (log above)"
fi
# mke2fs fills the image from the folder itself: owners, modes, device
# nodes and links as they are there; no loop device, no mount. The journal
# stays: the guest writes during the boot.
size=${TTWS_VM_ROOTFS_SIZE:-2G}
if ! mke2fs -q -F -t ext4 -L ttws-root -d "$tmp/root" \
	"$tmp/rootfs.ext4" "$size" >"$tmp/mke2fs.log" 2>&1; then
	cat "$tmp/mke2fs.log" >&2
	die "mke2fs -d failed"
fi
rm -rf "$tmp/root"
# Older rootfs folders are of another package list: they go.
find "$CACHE" -mindepth 1 -maxdepth 1 -name "rootfs-$suite-*" \
	! -name "rootfs-$suite-$key" -exec rm -rf {} +
mkdir -p "$dir"
mv "$tmp/rootfs.ext4" "$img"
mv "$tmp/packages.txt" "$dir/packages.txt" 2>/dev/null || true
cp "$tmp/mmdebstrap.log" "$dir/mmdebstrap.log"
printf '%s\n' "$sources" >"$dir/sources"
touch "$dir/.complete"
note "$img: $(du -m "$img" | cut -f1) MB used of $size, $(wc -l <"$dir/packages.txt" 2>/dev/null || echo '?') packages, built in $(($(date +%s) - start)) s"
printf '%s\n' "$img"
