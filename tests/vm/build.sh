#!/usr/bin/env bash
# Build a bootable test VM: Debian's kernel (vmlinuz) and a small initramfs
# holding busybox, the kernel's Bluetooth modules, BlueZ's controller
# emulator (btvirt) and btmgmt, tests/vm/init as /init, and a payload
# directory whose executable `run` /init starts. See tests/vm/README.md.
#
#   build.sh [-k KERNEL] [-o OUT_DIR] [-i INIT] PAYLOAD_DIR
#
# KERNEL (default: $TTWS_VM_KERNEL_SUITE, else "default"):
#   default  the newest linux-image this machine's apt knows (bookworm's, or
#            bookworm-backports' when that suite is configured)
#   new      the newest kernel of trixie-backports (the first >= 6.15 here:
#            TX completion timestamps on L2CAP sockets)
#   SUITE    the newest kernel of that suite of the Debian archive
# A suite is read through a private apt state in the cache (its own
# sources.list, lists and archives; apt still checks the archive's
# signature against debian-archive-keyring); the machine's apt sources are
# not touched. Its lists are refreshed when older than a day.
#
# INIT replaces tests/vm/init as the initramfs's /init (the gateway test's
# stage one, gw-init, which switches to a root filesystem on a disk).
#
# Writes OUT_DIR/vmlinuz, OUT_DIR/initrd.cpio.gz and OUT_DIR/kernel-release
# (default OUT_DIR: build/vm). The kernel packages are downloaded once and
# kept, extracted, in TTWS_VM_CACHE (default ~/.cache/ttws-vm), one folder
# per package version; nothing is installed and nothing goes into /boot.
#
# Environment:
#   TTWS_VM_CACHE        cache folder for extracted kernels
#   TTWS_VM_KERNEL_SUITE the kernel when -k is not given (as KERNEL above)
#   TTWS_VM_KERNEL_PKG   a linux-image package name to use instead of the
#                        newest one (from the machine's apt, or the suite's)
#   TTWS_VM_MIRROR       the Debian archive to read a suite from (default:
#                        the one this machine's apt sources use)
#   TTWS_VM_REFRESH=1    refresh a suite's lists now, whatever their age
#   TTWS_VM_MODULES      extra modules to load at boot, space-separated
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${TTWS_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ttws-vm}
# The suite `-k new` means: the first Debian kernel with TX completion
# timestamps on L2CAP sockets (Linux 6.15) that bookworm's keyring verifies.
NEW_SUITE=trixie-backports
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# What the payloads need from the kernel, loaded in dependency order:
# hci_vhci for /dev/vhci; the af_alg family and ecb/cmac because btvirt
# opens AF_ALG sockets for LE crypto and drops LE controllers without them.
# A module the kernel has built in is skipped (7.3 has ecb built in).
MODULES=(hci_vhci bluetooth ecdh_generic af_alg algif_hash algif_skcipher
	ecb cmac)
read -r -a extra <<<"${TTWS_VM_MODULES:-}"
MODULES+=("${extra[@]}")
HOST_TOOLS=(/usr/bin/btvirt /usr/bin/btmgmt /usr/bin/l2test /usr/bin/btmon)
# What extract_kernel_parts keeps of a kernel package; bumped when that
# changes, so a kernel cached with fewer parts is fetched again (2: block
# drivers, for virtio_blk).
PARTS=2

die() { printf 'vm/build: %s\n' "$*" >&2; exit 1; }
note() { printf 'vm/build: %s\n' "$*" >&2; }
usage="usage: build.sh [-k default|new|SUITE] [-o OUT_DIR] [-i INIT] PAYLOAD_DIR"

out=$ROOT/build/vm
init=$HERE/init
suite=${TTWS_VM_KERNEL_SUITE:-default}
while getopts k:o:i: opt; do
	case $opt in
	k) suite=$OPTARG ;;
	o) out=$OPTARG ;;
	i) init=$OPTARG ;;
	*) die "$usage" ;;
	esac
done
shift $((OPTIND - 1))
(($# == 1)) || die "$usage"
payload=$(realpath "$1")
[[ -x $payload/run ]] || die "$payload/run: missing or not executable"
[[ -f $init ]] || die "$init: no such init script"
[[ $suite == new ]] && suite=$NEW_SUITE
[[ $suite =~ ^[a-z][a-z0-9.-]*$ ]] ||
	die "kernel must be default, new or a Debian suite name, not '$suite'"

for t in busybox cpio gzip xz dpkg-deb depmod modprobe ldd "${HOST_TOOLS[@]}"; do
	command -v "$t" >/dev/null ||
		die "$t not found: run ./dev setup (busybox-static, cpio, xz-utils, kmod, bluez)"
done
# The guest runs busybox before any library is there: it must be static.
busybox=$(command -v busybox)
if ldd "$busybox" >/dev/null 2>&1; then
	die "$busybox is dynamically linked: install busybox-static"
fi

# --- the kernel ----------------------------------------------------------

# apt's options for the kernel's source: none for the machine's own apt;
# for a suite, a private state under $CACHE/apt-SUITE (set by suite_apt).
apt_opts=()

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

# The same for a suite: the newest linux-image-VERSION-amd64 in its lists
# (not -cloud, -rt or -dbg), by Debian version order.
suite_candidate() {
	local names pkg ver best='' best_ver=''
	if [[ -n ${TTWS_VM_KERNEL_PKG:-} ]]; then
		names=$TTWS_VM_KERNEL_PKG
	else
		names=$(apt-cache "${apt_opts[@]}" pkgnames linux-image- 2>/dev/null |
			grep -E '^linux-image-[0-9][^ ]*-amd64$' |
			grep -vE -- '-(cloud|rt)-amd64$' || true)
	fi
	[[ -n $names ]] || return 0
	# shellcheck disable=SC2086 # one name per word
	while read -r pkg ver; do
		if [[ -z $best ]] || dpkg --compare-versions "$ver" gt "$best_ver"; then
			best=$pkg best_ver=$ver
		fi
	done < <(apt-cache "${apt_opts[@]}" show --no-all-versions $names 2>/dev/null |
		awk '$1 == "Package:" { p = $2 } $1 == "Version:" { print p, $2 }')
	[[ -n $best ]] && printf '%s %s\n' "$best" "$best_ver"
	return 0
}

# The Debian archive this machine's apt reads its own release from.
debian_mirror() {
	local codename
	# shellcheck disable=SC1091
	codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
	# shellcheck disable=SC2016 # apt's own $(FIELD) syntax
	apt-get indextargets --no-release-info --format '$(RELEASE) $(REPO_URI)' \
		'Identifier: Packages' 2>/dev/null |
		awk -v c="$codename" '$1 == c { print $2; exit }'
}

# Sets apt_opts to a private apt state for $suite in $CACHE/apt-$suite:
# the suite's lists and downloads live there, the machine's sources,
# preferences and package lists are not read, and InRelease must carry a
# good signature from debian-archive-keyring (signed-by).
suite_apt() {
	local a=$CACHE/apt-$suite mirror
	[[ -f $KEYRING ]] ||
		die "$KEYRING missing: run ./dev setup (debian-archive-keyring)"
	mirror=${TTWS_VM_MIRROR:-$(debian_mirror)}
	[[ -n $mirror ]] ||
		die "no Debian archive in this machine's apt sources to read $suite from: set TTWS_VM_MIRROR"
	mkdir -p "$a"/lists/partial "$a"/cache/archives/partial "$a"/etc/parts
	[[ -f $a/status ]] || : >"$a/status"
	printf 'deb [signed-by=%s] %s %s main\n' "$KEYRING" "$mirror" "$suite" \
		>"$a/etc/sources.list.tmp"
	if ! cmp -s "$a/etc/sources.list.tmp" "$a/etc/sources.list"; then
		mv "$a/etc/sources.list.tmp" "$a/etc/sources.list"
		rm -f "$a/updated" # another archive: its lists are not there yet
	fi
	rm -f "$a/etc/sources.list.tmp"
	apt_opts=(-o "Dir::Etc::SourceList=$a/etc/sources.list"
		-o "Dir::Etc::SourceParts=$a/etc/parts"
		-o "Dir::Etc::Preferences=$a/etc/preferences"
		-o "Dir::Etc::PreferencesParts=$a/etc/parts"
		-o "Dir::State::Lists=$a/lists"
		-o "Dir::State::status=$a/status"
		-o "Dir::Cache=$a/cache"
		-o Acquire::Languages=none
		-o APT::Sandbox::User=root)
}

# Refreshes the suite's lists when they are missing, older than a day or
# TTWS_VM_REFRESH=1 (then sets updated_now). Returns 1 when that was
# wanted and failed (offline, or a bad signature).
suite_update() {
	local a=$CACHE/apt-$suite
	if [[ ${TTWS_VM_REFRESH:-0} != 1 && -n $(find "$a/updated" -mmin -1440 2>/dev/null) ]]; then
		return 0
	fi
	note "apt-get update for $suite (private lists in $a)"
	updated_now=1
	if ! timeout -k 5 120 apt-get "${apt_opts[@]}" update >"$a/update.log" 2>&1; then
		sed 's/^/  /' "$a/update.log" >&2
		return 1
	fi
	# apt-get update exits 0 when a fetch failed (old lists are kept), and
	# older apt also on a bad signature.
	if grep -qE '^(E: |W: (GPG error|Failed to fetch|Some index files))' \
		"$a/update.log"; then
		sed 's/^/  /' "$a/update.log" >&2
		return 1
	fi
	touch "$a/updated"
}

# Extracts from package file DEB into DIR only what a payload could need:
# vmlinuz, modules.* and the module subtrees below (6.1: 96 MB of 400;
# 7.3, its modules .ko.xz: 36 MB). Kernels from trixie on come as
# linux-image (empty), linux-binary (vmlinuz in /usr/lib/modules/VER),
# linux-modules and linux-base (modules.builtin, modules.order).
extract_kernel_parts() {
	local deb=$1 dir=$2 members
	local want='^\./(boot/vmlinuz-.*|(usr/)?lib/modules/[^/]+/(vmlinuz|modules\.[^/]*|kernel/(crypto|lib|arch|net|fs|drivers/bluetooth|drivers/virtio|drivers/block)/.*[^/]))$'
	members=$(dpkg-deb --fsys-tarfile "$deb" | tar -t) ||
		die "cannot read $deb"
	grep -E "$want" <<<"$members" >"$dir.members" || return 0
	dpkg-deb --fsys-tarfile "$deb" |
		tar -x -C "$dir" --no-wildcards --verbatim-files-from \
			-T "$dir.members" ||
		die "cannot extract $deb"
	rm -f "$dir.members"
}

# Downloads and extracts PKG VER (and the linux-binary/-modules/-base
# packages of the same version it depends on) into $CACHE/PKG_VER unless
# it is there, then depmod makes modprobe's index for the modules.
fetch_kernel() {
	local pkg=$1 ver=$2 dir=$CACHE/${1}_${2} tmp kver mods deb d dep
	local -a pkgs
	[[ -f $dir/.complete && $(cat "$dir/parts" 2>/dev/null) == "$PARTS" ]] &&
		return 0
	mkdir -p "$CACHE"
	tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX")
	# shellcheck disable=SC2064 # expand now: tmp is local
	trap "rm -rf '$tmp'" EXIT
	pkgs=("$pkg=$ver")
	while read -r dep; do
		pkgs+=("$dep")
	done < <(apt-cache "${apt_opts[@]}" show --no-all-versions "$pkg=$ver" 2>/dev/null |
		awk -F': ' '$1 == "Depends" { print $2; exit }' | tr ',' '\n' |
		sed -nE 's/^ *(linux-(binary|modules|base)-[0-9][^ ]*) \(= ([^)]*)\).*/\1=\3/p')
	note "downloading ${pkgs[*]} (once; cached in $CACHE)"
	(cd "$tmp" && timeout -k 5 900 apt-get "${apt_opts[@]}" \
		-o APT::Sandbox::User=root download "${pkgs[@]}" \
		>download.log 2>&1) || {
		cat "$tmp/download.log" >&2
		die "apt-get download ${pkgs[*]} failed (or took over 900 s)"
	}
	note "downloaded $(du -cm "$tmp"/*.deb | tail -n 1 | cut -f1) MB; extracting"
	mkdir "$tmp/x"
	for deb in "$tmp"/*.deb; do
		extract_kernel_parts "$deb" "$tmp/x"
		rm -f "$deb"
	done
	mods=
	for d in "$tmp"/x/lib/modules/* "$tmp"/x/usr/lib/modules/*; do
		[[ -d $d ]] && mods=$d && break
	done
	[[ -n $mods ]] || die "${pkgs[*]}: no /lib/modules folder"
	kver=${mods##*/}
	mkdir -p "$tmp/k/lib/modules"
	mv "$mods" "$tmp/k/lib/modules/$kver"
	if [[ -f $tmp/x/boot/vmlinuz-$kver ]]; then
		mv "$tmp/x/boot/vmlinuz-$kver" "$tmp/k/vmlinuz"
	elif [[ -f $tmp/k/lib/modules/$kver/vmlinuz ]]; then
		mv "$tmp/k/lib/modules/$kver/vmlinuz" "$tmp/k/vmlinuz"
	else
		die "${pkgs[*]}: no boot/vmlinuz-$kver nor modules/$kver/vmlinuz"
	fi
	[[ -f $tmp/k/lib/modules/$kver/modules.order ]] ||
		die "${pkgs[*]}: no modules.order for $kver"
	depmod -b "$tmp/k" "$kver" || die "depmod for $kver failed"
	printf '%s\n' "$kver" >"$tmp/k/kernel-release"
	printf '%s\n' "$suite" >"$tmp/k/suite"
	printf '%s\n' "$PARTS" >"$tmp/k/parts"
	touch "$tmp/k/.complete"
	rm -rf "$dir"
	mv "$tmp/k" "$dir"
	rm -rf "$tmp"
	trap - EXIT
	note "$dir: $(du -sm "$dir" | cut -f1) MB"
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

# The newest complete kernel folder cached for $suite (folders from before
# suites were recorded are the machine's: "default").
cached_kernel() {
	local f s
	while read -r f; do
		s=default
		[[ -f ${f%/.complete}/suite ]] && s=$(<"${f%/.complete}/suite")
		if [[ $s == "$suite" ]]; then
			printf '%s\n' "${f%/.complete}"
		fi
	done < <(find "$CACHE" -mindepth 2 -maxdepth 2 -name .complete 2>/dev/null) |
		sort -V | tail -n 1
}

# One fetch at a time per cache (parallel test runs share it).
mkdir -p "$CACHE"
exec {lock}>"$CACHE/.lock"
flock "$lock"
kpkg='' kver_pkg='' updated=1 updated_now=0
if [[ $suite == default ]]; then
	read -r kpkg kver_pkg < <(resolve_kernel) || true
	if [[ -z $kpkg && $EUID -eq 0 && -z $(cached_kernel) ]]; then
		note "apt knows no kernel package: running apt-get update"
		apt-get update -qq || die "apt-get update failed"
		read -r kpkg kver_pkg < <(resolve_kernel) || true
	fi
else
	suite_apt
	suite_update || updated=0
	read -r kpkg kver_pkg < <(suite_candidate) || true
	if ((updated && !updated_now)) && [[ -n $kpkg &&
		! -f $CACHE/${kpkg}_${kver_pkg}/.complete ]]; then
		# About to download: fresh lists name what the archive has now
		# (backports drops superseded kernels).
		TTWS_VM_REFRESH=1 suite_update || updated=0
		read -r kpkg kver_pkg < <(suite_candidate) || true
	fi
	if ((!updated)); then
		if [[ -n $kpkg ]]; then
			note "could not refresh $suite's lists; using the ones from $(date -r "$CACHE/apt-$suite/updated" '+%F %R' 2>/dev/null || echo before)"
		else
			note "could not read $suite's lists (apt-get update failed, see above)"
		fi
	fi
fi
if [[ -n $kpkg ]]; then
	kdir=$CACHE/${kpkg}_${kver_pkg}
	if [[ ! -f $kdir/.complete && $suite != default && $updated == 0 &&
		-n $(cached_kernel) ]]; then
		# Stale lists and offline: what is cached beats nothing.
		kdir=$(cached_kernel)
		note "offline; using cached ${kdir##*/} instead of $kpkg $kver_pkg"
	else
		fetch_kernel "$kpkg" "$kver_pkg"
	fi
else
	# Offline or without package lists: the newest kernel already cached.
	kdir=$(cached_kernel)
	if [[ -z $kdir && $suite == default ]]; then
		die "apt knows no linux-image package and $CACHE has none: run apt-get update"
	fi
	[[ -n $kdir ]] ||
		die "no linux-image package in $suite's lists and none cached in $CACHE (apt-get update's output above says why: network, mirror, suite name or signature)"
	note "apt knows no kernel package for '$suite'; using cached ${kdir##*/}"
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
# its own format, insmod needs nothing). Newer Debian kernels ship them
# compressed (.ko.xz); busybox's insmod takes only plain .ko files, so they
# are decompressed here.
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
		dest=$stage/lib/modules/$kver/${rel%.ko*}.ko
		mkdir -p "${dest%/*}"
		case $rel in
		*.ko) cp "$path" "$dest" ;;
		*.ko.xz) xz -dc "$path" >"$dest" ;;
		*.ko.gz) gzip -dc "$path" >"$dest" ;;
		*.ko.zst)
			command -v zstd >/dev/null ||
				die "$rel is zstd-compressed: install zstd"
			zstd -qdc "$path" >"$dest"
			;;
		*) die "$path: not a kernel module" ;;
		esac || die "cannot decompress $path"
		printf '%s\n' "${rel%.ko*}.ko" >>"$stage/etc/ttws-vm-modules"
	done <<<"$deps"
done
printf '%s\n' "$kver" >"$stage/etc/ttws-vm-kernel"

install -m 0755 "$init" "$stage/init"
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
