#!/bin/sh
# Install ttwsd.conf for `meson install` (conf/meson.build):
#   install-conf.sh SRC DEST
# copies SRC to DEST (absolute; $DESTDIR prepended when set) only when
# DEST does not exist yet: an administrator's configuration is never
# overwritten, on upgrades included.
set -eu

if [ $# -ne 2 ]; then
	echo "usage: install-conf.sh SRC DEST" >&2
	exit 2
fi
src=$1
dest=${DESTDIR:-}$2

# -L too: a dangling symlink is still the administrator's choice.
if [ -e "$dest" ] || [ -L "$dest" ]; then
	echo "Keeping $dest (not overwritten; defaults: $src)"
	exit 0
fi
install -d -m 0755 "$(dirname "$dest")"
install -m 0644 "$src" "$dest"
echo "Installing $src to $dest"
