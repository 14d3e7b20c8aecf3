#!/usr/bin/env bash
# Fetch Debian source packages and unpack each one's upstream tarball:
# `apt-get source --download-only` through a private apt state under
# OUTDIR/apt (the machine's own sources list is left as it is; deb-src of
# the suite the machine runs, signed by Debian's keyring).
# Usage: debian-source.sh OUTDIR PACKAGE...  (each into OUTDIR/src/PACKAGE;
# the downloads and apt state are removed, the unpacked trees stay)
set -euo pipefail

out=$(realpath -m "$1")
shift
mkdir -p "$out/apt/lists/partial" "$out/src"
suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" > "$out/apt/sources.list"
apt_opts=(-o Dir::Etc::SourceList="$out/apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
	  -o Dir::State::Lists="$out/apt/lists" -o APT::Sandbox::User=root)
apt-get "${apt_opts[@]}" update -qq > "$out/apt/update.log" 2>&1 \
	|| { tail -n 20 "$out/apt/update.log" >&2; exit 1; }
(cd "$out/src" && apt-get "${apt_opts[@]}" source --download-only -qq "$@") > "$out/apt/source.log" 2>&1 \
	|| { tail -n 20 "$out/apt/source.log" >&2; exit 1; }
for pkg in "$@"; do
	tarball=$(ls "$out"/src/"$pkg"_*.orig.tar.* | grep -v '\.asc$' | head -n 1)
	mkdir -p "$out/src/$pkg"
	tar -xf "$tarball" -C "$out/src/$pkg" --strip-components=1
done
rm -rf "$out/apt" "$out"/src/*_*
