#!/usr/bin/env bash
# A Debian root filesystem (a chroot folder, not a VM image) holding
# Google's Bumble (python3-bumble) and what it needs to run, made with
# mmdebstrap from Debian packages only. The hearing-aid peer of issue 15
# (asha-peer.py, started by run-peer.sh) runs in it with its python3.
# Prints the path of the root folder on stdout.
#
#   bumble-root.sh
#
# python3-bumble is not in bookworm. The suite is the first of SUITES (the
# released ones first: they do not move under a cached tree) whose package
# lists name it, read from the Debian archive this machine's apt reads its
# own release from, through a private apt state in the cache (as
# tests/vm/build.sh reads a suite: its own sources.list and lists, signature
# checked against debian-archive-keyring; the machine's apt is not
# touched). In December 2026 that is forky (testing): 0.0.236-1.
#
# Cached as TTWS_VM_CACHE/bumble-SUITE-KEY/root (default cache
# ~/.cache/ttws-vm), KEY a hash of the package list, the sources and this
# script's recipe version (as tests/vm/rootfs.sh keys its image): a change
# to any of them builds a new tree and removes the old one. A cached tree
# is found without the network. Users bind-mount into it in a mount
# namespace of their own (run-peer.sh) and write nothing else to it.
#
# Exit status: 0 with the path printed; 77 when the tree cannot be built
# for want of the network or of the package (the callers skip then); 1 on
# any other failure.
#
# Environment:
#   TTWS_VM_CACHE        cache folder (shared with tests/vm)
#   TTWS_BUMBLE_SUITE    use this suite, do not search
#   TTWS_VM_MIRROR       the Debian archive (default: the one this
#                        machine's apt sources use for its own release)
#   TTWS_BUMBLE_REFRESH=1  search the suites again, whatever is cached
set -euo pipefail

CACHE=${TTWS_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ttws-vm}
# Bump when what is done to the tree below changes (not the package list:
# that is part of the key by itself). 1: mount points /asha /bt /out.
RECIPE=1
# Bumble's Depends bring its python libraries (click, pyee, platformdirs,
# prompt-toolkit, serial, usb, websockets). Its crypto falls back to pure
# python without python3-cryptography (bumble/crypto/__init__.py), and
# the peer does no pairing, so that is not added. libspandsp2t64: the
# smoke test's central encodes its test tones with spandsp's G.722 encoder
# (a maintained Debian library, one of the two issue 15 names for ttwsd)
# so that Bumble's decoding of them can be checked; 0.9 MB and libtiff.
PACKAGES=(python3-bumble libspandsp2t64)
SUITES=(trixie trixie-backports forky)
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

die() { printf 'asha/bumble-root: %s\n' "$*" >&2; exit 1; }
skip() { printf 'asha/bumble-root: SKIP: %s\n' "$*" >&2; exit 77; }
note() { printf 'asha/bumble-root: %s\n' "$*" >&2; }

for t in mmdebstrap apt-get sha256sum flock; do
	command -v "$t" >/dev/null ||
		die "$t not found: apt-get install mmdebstrap"
done
[[ -f $KEYRING ]] || die "$KEYRING missing: apt-get install debian-archive-keyring"

# The Debian archive this machine's apt reads its own release from (as
# tests/vm/build.sh's debian_mirror()).
debian_mirror() {
	local codename
	# shellcheck disable=SC1091
	codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
	# shellcheck disable=SC2016 # apt's own $(FIELD) syntax
	apt-get indextargets --no-release-info --format '$(RELEASE) $(REPO_URI)' \
		'Identifier: Packages' 2>/dev/null |
		awk -v c="$codename" '$1 == c { print $2; exit }'
}

mirror=${TTWS_VM_MIRROR:-$(debian_mirror)}
[[ -n $mirror ]] ||
	die "no Debian archive in this machine's apt sources: set TTWS_VM_MIRROR"

# The mmdebstrap source line, the key and the cache folder of a suite.
# The testing suite's Release file, as served here, can be past its
# Valid-Until date (DESIGN.md, "Root filesystems"): apt is told not to
# check that date; the signature is still checked.
sources_of() {
	printf 'deb [signed-by=%s] %s %s main' "$KEYRING" "$mirror" "$1"
}
dir_of() {
	local key
	key=$(printf '%s\n' "$RECIPE" "$1" "$(sources_of "$1")" "${PACKAGES[@]}" |
		sha256sum | cut -c1-16)
	printf '%s/bumble-%s-%s' "$CACHE" "$1" "$key"
}

# apt options for a private state of SUITE in $CACHE/bumble-apt-SUITE.
apt_opts=()
suite_apt() {
	local a=$CACHE/bumble-apt-$1
	mkdir -p "$a"/lists/partial "$a"/cache/archives/partial "$a"/etc/parts
	[[ -f $a/status ]] || : >"$a/status"
	printf '%s\n' "$(sources_of "$1")" >"$a/etc/sources.list"
	apt_opts=(-o "Dir::Etc::SourceList=$a/etc/sources.list"
		-o "Dir::Etc::SourceParts=$a/etc/parts"
		-o "Dir::Etc::Preferences=$a/etc/preferences"
		-o "Dir::Etc::PreferencesParts=$a/etc/parts"
		-o "Dir::State::Lists=$a/lists"
		-o "Dir::State::status=$a/status"
		-o "Dir::Cache=$a/cache"
		-o Acquire::Languages=none
		-o Acquire::Check-Valid-Until=false
		-o APT::Sandbox::User=root)
}

# Succeeds when SUITE's lists (fetched now) hold python3-bumble. Returns 2
# when they could not be fetched at all.
suite_has_bumble() {
	local a=$CACHE/bumble-apt-$1
	suite_apt "$1"
	note "reading $1's package lists (private apt state in $a)"
	if ! timeout -k 5 180 apt-get "${apt_opts[@]}" update >"$a/update.log" 2>&1 ||
		grep -qE '^(E: |W: (GPG error|Failed to fetch|Some index files))' \
			"$a/update.log"; then
		sed 's/^/  /' "$a/update.log" >&2
		return 2
	fi
	# (Not piped into grep -q: apt-cache's SIGPIPE would fail the pipe.)
	local show
	show=$(apt-cache "${apt_opts[@]}" show --no-all-versions \
		"${PACKAGES[0]}" 2>/dev/null) || return 1
	grep -q '^Version: ' <<<"$show"
}

mkdir -p "$CACHE"
exec {lock}>"$CACHE/.bumble.lock"
flock "$lock"

# A cached tree: the forced suite's, else the first suite's that is there.
suites=("${SUITES[@]}")
[[ -n ${TTWS_BUMBLE_SUITE:-} ]] && suites=("$TTWS_BUMBLE_SUITE")
for s in "${suites[@]}"; do
	[[ $s =~ ^[a-z][a-z0-9.-]*$ ]] || die "not a suite name: '$s'"
done
if [[ ${TTWS_BUMBLE_REFRESH:-0} != 1 ]]; then
	for s in "${suites[@]}"; do
		d=$(dir_of "$s")
		if [[ -f $d/.complete ]]; then
			printf '%s\n' "$d/root"
			exit 0
		fi
	done
fi

suite=
offline=0
for s in "${suites[@]}"; do
	rc=0
	suite_has_bumble "$s" || rc=$?
	case $rc in
	0) suite=$s; break ;;
	2) offline=$((offline + 1)) ;;
	*) note "$s has no ${PACKAGES[0]}" ;;
	esac
done
if [[ -z $suite ]]; then
	((offline < ${#suites[@]})) ||
		skip "cannot read the package lists of ${suites[*]} from $mirror (no network?)"
	skip "no ${PACKAGES[0]} in ${suites[*]} at $mirror"
fi
[[ $(id -u) == 0 ]] ||
	die "building the tree needs root (mmdebstrap into a folder, files owned by root)"

dir=$(dir_of "$suite")
note "building the $suite Bumble tree (once; cached in $dir)"
start=$(date +%s)
tmp=$(mktemp -d "$CACHE/.bumble.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
include=$(IFS=,; printf '%s' "${PACKAGES[*]}")
# minbase and the list; no recommends. The apt lists and package cache are
# dropped; the mount points of run-peer.sh are made. dpkg's list of what is
# in the tree is kept beside it.
# shellcheck disable=SC2016 # "$1" is the hook's, expanded by mmdebstrap
if ! timeout -k 10 1500 mmdebstrap --variant=minbase --include="$include" \
	--aptopt='APT::Install-Recommends "false"' \
	--aptopt='Acquire::Check-Valid-Until "false"' \
	--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
	--customize-hook='mkdir -p "$1"/asha "$1"/bt "$1"/out' \
	--customize-hook="chroot \"\$1\" dpkg-query -W -f '\${Package} \${Version}\n' >'$tmp/packages.txt'" \
	"$suite" "$tmp/root" "$(sources_of "$suite")" >"$tmp/mmdebstrap.log" 2>&1; then
	tail -n 40 "$tmp/mmdebstrap.log" >&2
	if grep -qE 'Failed to fetch|Could not resolve|Temporary failure' \
		"$tmp/mmdebstrap.log"; then
		skip "mmdebstrap could not download the packages (log above)"
	fi
	die "mmdebstrap failed (log above)"
fi
chroot "$tmp/root" python3 -c 'import bumble.profiles.asha' ||
	die "the tree's python3 cannot import bumble.profiles.asha"
# Older trees of this suite are of another package list: they go.
find "$CACHE" -mindepth 1 -maxdepth 1 -name "bumble-$suite-*" \
	! -name "${dir##*/}" -exec rm -rf {} +
rm -rf "$dir"
mkdir -p "$dir"
mv "$tmp/root" "$dir/root"
mv "$tmp/packages.txt" "$dir/packages.txt"
cp "$tmp/mmdebstrap.log" "$dir/mmdebstrap.log"
sources_of "$suite" >"$dir/sources"
printf '\n' >>"$dir/sources"
touch "$dir/.complete"
# The suites' lists served the search only (tens of MB).
rm -rf "$CACHE"/bumble-apt-*/lists/* "$CACHE"/bumble-apt-*/cache/*.bin
note "$dir/root: $(du -sm "$dir/root" | cut -f1) MB, $(wc -l <"$dir/packages.txt") packages, bumble $(awk '$1 == "python3-bumble" { print $2 }' "$dir/packages.txt"), built in $(($(date +%s) - start)) s"
printf '%s\n' "$dir/root"
