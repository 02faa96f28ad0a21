#!/usr/bin/env bash
# Build a bootable test VM: Debian's kernel (vmlinuz) and a small initramfs
# holding busybox, the kernel's Bluetooth modules, BlueZ's controller
# emulator (btvirt) and btmgmt, tests/vm/init as /init, and a payload
# directory whose executable `run` /init starts. See tests/vm/README.md.
#
#   build.sh [-o OUT_DIR] PAYLOAD_DIR
#
# Writes OUT_DIR/vmlinuz, OUT_DIR/initrd.cpio.gz and OUT_DIR/kernel-release
# (default OUT_DIR: build/vm). The kernel package is downloaded once and
# kept, extracted, in TTWS_VM_CACHE (default ~/.cache/ttws-vm), one folder
# per package version; nothing is installed and nothing goes into /boot.
#
# Environment:
#   TTWS_VM_CACHE        cache folder for extracted kernels
#   TTWS_VM_KERNEL_PKG   a linux-image package name to use instead of the
#                        newest one apt knows (bookworm-backports' when that
#                        suite is configured, else bookworm's)
#   TTWS_VM_MODULES      extra modules to load at boot, space-separated
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${TTWS_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ttws-vm}
# What the payloads need from the kernel, loaded in dependency order:
# hci_vhci for /dev/vhci; the af_alg family and ecb/cmac because btvirt
# opens AF_ALG sockets for LE crypto and drops LE controllers without them.
MODULES=(hci_vhci bluetooth ecdh_generic af_alg algif_hash algif_skcipher
	ecb cmac)
read -r -a extra <<<"${TTWS_VM_MODULES:-}"
MODULES+=("${extra[@]}")
HOST_TOOLS=(/usr/bin/btvirt /usr/bin/btmgmt /usr/bin/l2test /usr/bin/btmon)

die() { printf 'vm/build: %s\n' "$*" >&2; exit 1; }
note() { printf 'vm/build: %s\n' "$*" >&2; }

out=$ROOT/build/vm
while getopts o: opt; do
	case $opt in
	o) out=$OPTARG ;;
	*) die "usage: build.sh [-o OUT_DIR] PAYLOAD_DIR" ;;
	esac
done
shift $((OPTIND - 1))
(($# == 1)) || die "usage: build.sh [-o OUT_DIR] PAYLOAD_DIR"
payload=$(realpath "$1")
[[ -x $payload/run ]] || die "$payload/run: missing or not executable"

for t in busybox cpio gzip dpkg-deb depmod modprobe ldd "${HOST_TOOLS[@]}"; do
	command -v "$t" >/dev/null ||
		die "$t not found: run ./dev setup (busybox-static, cpio, kmod, bluez)"
done
# The guest runs busybox before any library is there: it must be static.
busybox=$(command -v busybox)
if ldd "$busybox" >/dev/null 2>&1; then
	die "$busybox is dynamically linked: install busybox-static"
fi

# --- the kernel ----------------------------------------------------------

# Prints the linux-image package to use (e.g. linux-image-6.1.0-56-amd64)
# and its version, or nothing when apt cannot tell (no package lists).
kernel_candidate() {
	local meta=linux-image-amd64 pkg ver
	if [[ -n ${TTWS_VM_KERNEL_PKG:-} ]]; then
		pkg=$TTWS_VM_KERNEL_PKG
	else
		# Backports' newer kernel passes the crypto self-tests under
		# TCG that bookworm's 6.1 fails (see DESIGN.md); use it when
		# this machine's apt sources already have it, add nothing.
		if apt-cache policy 2>/dev/null | grep -q 'n=bookworm-backports'; then
			meta=linux-image-amd64/bookworm-backports
		fi
		pkg=$(apt-cache depends "$meta" 2>/dev/null |
			awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
	fi
	[[ -n $pkg ]] || return 0
	ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null |
		awk '$1 == "Version:" { print $2; exit }')
	[[ -n $ver ]] || return 0
	printf '%s %s\n' "$pkg" "$ver"
}

# Downloads and extracts PKG VER into $CACHE/PKG_VER unless it is there.
# Only vmlinuz and the module subtrees a payload could need are kept
# (70 MB instead of 400 MB), then depmod makes modprobe's index for them.
fetch_kernel() {
	local pkg=$1 ver=$2 dir=$CACHE/${1}_${2} tmp kver mods
	[[ -f $dir/.complete ]] && return 0
	mkdir -p "$CACHE"
	tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX")
	# shellcheck disable=SC2064 # expand now: tmp is local
	trap "rm -rf '$tmp'" EXIT
	note "downloading $pkg $ver (once; cached in $CACHE)"
	(cd "$tmp" && apt-get download -o APT::Sandbox::User=root \
		"$pkg=$ver" >download.log 2>&1) || {
		cat "$tmp/download.log" >&2
		die "apt-get download $pkg=$ver failed"
	}
	dpkg-deb --fsys-tarfile "$tmp"/*.deb |
		tar -x -C "$tmp" --wildcards \
			'*boot/vmlinuz-*' '*/modules/*/modules.*' \
			'*/modules/*/kernel/crypto/*' '*/modules/*/kernel/lib/*' \
			'*/modules/*/kernel/arch/*' '*/modules/*/kernel/net/*' \
			'*/modules/*/kernel/fs/*' \
			'*/modules/*/kernel/drivers/bluetooth/*' \
			'*/modules/*/kernel/drivers/virtio/*' ||
		die "cannot extract $tmp/*.deb"
	rm -f "$tmp"/*.deb
	mods=$(find "$tmp" -mindepth 3 -maxdepth 4 -type d -path '*/modules/*' \
		-prune | head -n 1)
	[[ -n $mods ]] || die "$pkg has no /lib/modules folder"
	kver=${mods##*/}
	mkdir -p "$tmp/k/lib/modules"
	mv "$mods" "$tmp/k/lib/modules/$kver"
	mv "$tmp"/boot/vmlinuz-"$kver" "$tmp/k/vmlinuz" ||
		die "$pkg has no boot/vmlinuz-$kver"
	depmod -b "$tmp/k" "$kver" || die "depmod for $kver failed"
	printf '%s\n' "$kver" >"$tmp/k/kernel-release"
	touch "$tmp/k/.complete"
	rm -rf "$dir"
	mv "$tmp/k" "$dir"
	rm -rf "$tmp"
	trap - EXIT
}

# kernel_candidate, remembered until apt's lists or sources change: the
# apt-cache calls are most of a cached build's time.
resolve_kernel() {
	local memo=$CACHE/resolved stamp out
	stamp="${TTWS_VM_KERNEL_PKG:-} $( (stat -c %Y /var/lib/apt/lists \
		/etc/apt/sources.list /etc/apt/sources.list.d 2>/dev/null || true) |
		tr '\n' ' ')"
	if [[ -f $memo && $(head -n 1 "$memo") == "$stamp" ]]; then
		tail -n +2 "$memo"
		return 0
	fi
	out=$(kernel_candidate)
	[[ -n $out ]] || return 0
	mkdir -p "$CACHE"
	printf '%s\n%s\n' "$stamp" "$out" >"$memo.$$"
	mv "$memo.$$" "$memo"
	printf '%s\n' "$out"
}

# One fetch at a time per cache (parallel test runs share it).
mkdir -p "$CACHE"
exec {lock}>"$CACHE/.lock"
flock "$lock"
read -r kpkg kver_pkg < <(resolve_kernel) || true
cached_any() { [[ -n $(find "$CACHE" -mindepth 2 -maxdepth 2 -name .complete 2>/dev/null) ]]; }
if [[ -z ${kpkg:-} && $EUID -eq 0 ]] && ! cached_any; then
	note "apt knows no kernel package: running apt-get update"
	apt-get update -qq || die "apt-get update failed"
	read -r kpkg kver_pkg < <(resolve_kernel) || true
fi
if [[ -n ${kpkg:-} ]]; then
	fetch_kernel "$kpkg" "$kver_pkg"
	kdir=$CACHE/${kpkg}_${kver_pkg}
else
	# Offline or without package lists: the newest kernel already cached.
	kdir=$(find "$CACHE" -mindepth 2 -maxdepth 2 -name .complete 2>/dev/null |
		sort -V | tail -n 1)
	[[ -n $kdir ]] || die "apt knows no linux-image package and $CACHE is empty: run apt-get update"
	kdir=${kdir%/.complete}
	note "apt knows no kernel package; using cached ${kdir##*/}"
fi
kver=$(<"$kdir/kernel-release")
flock -u "$lock"

# --- the initramfs -------------------------------------------------------

mkdir -p "$out"
stage=$(mktemp -d "$out/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT

# Debian's merged /usr, so the paths ldd prints are valid in the guest and
# the dynamic loader's built-in search path (/lib/x86_64-linux-gnu) works
# without an ld.so.cache.
mkdir -p "$stage"/usr/{bin,sbin,lib,lib64} "$stage"/{dev,proc,sys,tmp,run,etc,root}
ln -s usr/bin "$stage/bin"
ln -s usr/sbin "$stage/sbin"
ln -s usr/lib "$stage/lib"
ln -s usr/lib64 "$stage/lib64"

cp "$busybox" "$stage/usr/bin/busybox"
while read -r applet; do
	applet=${applet##*/}
	[[ $applet == busybox ]] && continue
	ln -s busybox "$stage/usr/bin/$applet"
done < <("$busybox" --list)

# Copies every shared library an ELF file needs (and the loader) to the
# same path in the stage.
copy_libs() {
	local f=$1 lib
	ldd "$f" >/dev/null 2>&1 || return 0 # static, or not for this machine
	if ldd "$f" | grep -q 'not found'; then
		ldd "$f" >&2
		die "$f: missing shared libraries on this machine"
	fi
	while read -r lib; do
		[[ -e $stage$lib ]] && continue
		mkdir -p "$stage${lib%/*}"
		cp -L "$lib" "$stage$lib"
	done < <(ldd "$f" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }')
}

is_elf() { [[ $(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' ') == 177ELF ]]; }

for t in "${HOST_TOOLS[@]}"; do
	cp "$t" "$stage/usr/bin/"
	copy_libs "$t"
done

# Modules, resolved by modprobe against the extracted tree; /init loads
# them in this order with insmod (busybox's modprobe wants modules.dep in
# its own format, insmod needs nothing).
: >"$stage/etc/ttws-vm-modules"
declare -A seen=()
for m in "${MODULES[@]}"; do
	deps=$(modprobe -d "$kdir" -S "$kver" --show-depends "$m" 2>&1) ||
		die "module $m not found for $kver: $deps"
	while read -r kind path _; do
		[[ $kind == insmod ]] || continue # "builtin NAME": nothing to load
		rel=${path#"$kdir"/lib/modules/"$kver"/}
		[[ -n ${seen[$rel]:-} ]] && continue
		seen[$rel]=1
		mkdir -p "$stage/lib/modules/$kver/${rel%/*}"
		cp "$path" "$stage/lib/modules/$kver/$rel"
		printf '%s\n' "$rel" >>"$stage/etc/ttws-vm-modules"
	done <<<"$deps"
done
printf '%s\n' "$kver" >"$stage/etc/ttws-vm-kernel"

install -m 0755 "$HERE/init" "$stage/init"
install -m 0755 "$HERE/bt-up" "$stage/usr/bin/ttws-bt-up"
install -m 0755 "$HERE/bt-pad" "$stage/usr/bin/ttws-bt-pad"
install -m 0755 "$HERE/bt-adv" "$stage/usr/bin/ttws-bt-adv"

# The payload, dereferenced so it may hold symlinks into a build folder.
cp -rL "$payload" "$stage/payload"
while IFS= read -r -d '' f; do
	is_elf "$f" && copy_libs "$f"
done < <(find "$stage/payload" -type f -print0)

(cd "$stage" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --owner=0:0 --quiet) |
	gzip -1 >"$out/initrd.cpio.gz.tmp"
mv "$out/initrd.cpio.gz.tmp" "$out/initrd.cpio.gz"
cp "$kdir/vmlinuz" "$out/vmlinuz.tmp"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
printf '%s\n' "$kver" >"$out/kernel-release"
note "$out: kernel $kver, initramfs $(du -k "$out/initrd.cpio.gz" | cut -f1) KiB"
