#!/usr/bin/env bash
# The root filesystem of the ASHA reference VM (tests/vm/asha-ref): Debian
# testing's BlueZ (bluetoothd with its ASHA profile, profiles/audio/asha.c,
# BlueZ >= 5.77), btvirt and btmon, PipeWire with its bluez5 plugin (an
# ASHA media sink from PipeWire 1.2 on), WirePlumber, dbus, and Google's
# Bumble (python3-bumble) for the two hearing aids of tests/asha, made
# with mmdebstrap from Debian packages only. No systemd: the payload
# (asha-ref/run) starts each daemon itself. Prints the ext4 image's path.
#
#   rootfs.sh
#
# What it proves by itself: that forky's versions of these packages install
# together (packages.txt beside the image lists each version).
#
# The suite is forky (testing; TTWS_VM_ASHA_SUITE), read from the Debian
# archive this machine's apt reads its own release from, as
# tests/asha/bumble-root.sh does (signature checked against
# debian-archive-keyring; Valid-Until not checked: testing's Release can be
# stale on this mirror). Cached as TTWS_VM_CACHE/asha-ref-SUITE-KEY/
# rootfs.ext4, KEY a hash of the package list, the sources and RECIPE; the
# image is never written to (run.sh -d: snapshot=on).
set -euo pipefail

CACHE=${TTWS_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ttws-vm}
RECIPE=1
SUITE=${TTWS_VM_ASHA_SUITE:-forky}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
PACKAGES=(dbus bluez bluez-test-tools
	pipewire pipewire-bin pipewire-pulse libspa-0.2-bluetooth wireplumber
	python3-bumble libspandsp2t64 jq procps python3)

die() { printf 'vm/asha-ref/rootfs: %s\n' "$*" >&2; exit 1; }
note() { printf 'vm/asha-ref/rootfs: %s\n' "$*" >&2; }

for t in mmdebstrap mke2fs sha256sum flock; do
	command -v "$t" >/dev/null || die "$t not found (mmdebstrap, e2fsprogs)"
done
((EUID == 0)) || die "needs root (mmdebstrap into a folder, mke2fs -d)"

# shellcheck disable=SC1091
codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
# shellcheck disable=SC2016 # apt's own $(FIELD) syntax
mirror=${TTWS_VM_MIRROR:-$(apt-get indextargets --no-release-info \
	--format '$(RELEASE) $(REPO_URI)' 'Identifier: Packages' 2>/dev/null |
	awk -v c="$codename" '$1 == c { print $2; exit }')}
[[ -n $mirror ]] || die "no Debian archive in this machine's apt sources: set TTWS_VM_MIRROR"
source_line="deb [signed-by=$KEYRING] $mirror $SUITE main"

key=$(printf '%s\n' "$RECIPE" "$source_line" "${PACKAGES[@]}" |
	sha256sum | cut -c1-16)
dir=$CACHE/asha-ref-$SUITE-$key
img=$dir/rootfs.ext4
mkdir -p "$CACHE"
exec {lock}>"$CACHE/.asha-ref.lock"
flock "$lock"
if [[ -f $dir/.complete ]]; then
	printf '%s\n' "$img"
	exit 0
fi

note "building the $SUITE root filesystem (once; cached in $dir)"
start=$(date +%s)
tmp=$(mktemp -d "$CACHE/.asha-ref.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
include=$(IFS=,; printf '%s' "${PACKAGES[*]}")
# shellcheck disable=SC2016 # "$1" is the hook's
if ! timeout -k 10 1500 mmdebstrap --variant=minbase --include="$include" \
	--aptopt='APT::Install-Recommends "false"' \
	--aptopt='Acquire::Check-Valid-Until "false"' \
	--skip=output/dev \
	--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
	--customize-hook='mkdir -p "$1"/asha "$1"/out "$1"/bt' \
	--customize-hook="chroot \"\$1\" dpkg-query -W -f '\${Package} \${Version}\n' >'$tmp/packages.txt'" \
	"$SUITE" "$tmp/root" "$source_line" >"$tmp/mmdebstrap.log" 2>&1; then
	tail -n 40 "$tmp/mmdebstrap.log" >&2
	die "mmdebstrap failed (log above)"
fi
size=${TTWS_VM_ROOTFS_SIZE:-3G}
if ! mke2fs -q -F -t ext4 -L asha-ref -d "$tmp/root" \
	"$tmp/rootfs.ext4" "$size" >"$tmp/mke2fs.log" 2>&1; then
	cat "$tmp/mke2fs.log" >&2
	die "mke2fs -d failed"
fi
rm -rf "$tmp/root"
find "$CACHE" -mindepth 1 -maxdepth 1 -name "asha-ref-$SUITE-*" \
	! -name "${dir##*/}" -exec rm -rf {} +
mkdir -p "$dir"
mv "$tmp/rootfs.ext4" "$img"
mv "$tmp/packages.txt" "$dir/packages.txt"
cp "$tmp/mmdebstrap.log" "$dir/mmdebstrap.log"
printf '%s\n' "$source_line" >"$dir/sources"
touch "$dir/.complete"
note "$img: $(du -m "$img" | cut -f1) MB used of $size, $(wc -l <"$dir/packages.txt") packages, built in $(($(date +%s) - start)) s"
printf '%s\n' "$img"
