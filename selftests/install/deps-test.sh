#!/usr/bin/env bash
# KTAP: a building goal sees what `make deps` installed in the same `make` run.
#
# On a fresh machine `make demo` installs linux-source-6.12 and then extracts its
# tarball.  Here the kernel tarball's path points into a folder that exists from
# the start (as /usr/src does) while the tarball itself appears only when the
# `deps` step runs (a stub in place of apt-get); the goal is the real extraction
# rule of the Makefile, into a private cache.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "TAP version 13"
echo "1..4"
n=0
check() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n $2"; else echo "not ok $n $2"; fi; }

# A minimal "package": a tarball holding linux-source-6.12/Makefile.
mkdir -p "$tmp/pkg/linux-source-6.12" "$tmp/usr-src" "$tmp/cache"
echo "# stub kernel tree" >"$tmp/pkg/linux-source-6.12/Makefile"
tar -C "$tmp/pkg" -cJf "$tmp/pkg.tar.xz" linux-source-6.12
tarball=$tmp/usr-src/linux-source-6.12.tar.xz
goal=$tmp/cache/src/linux-source-6.12/Makefile

# Run as a user would, not as a make under `make check` (its MAKEFLAGS would
# mark the packages as installed already).
fresh_make() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES -u FRAGML_DEPS_DONE \
		make -C "$top" --no-print-directory FRAGML_CACHE="$tmp/cache" KTARBALL="$tarball" \
		FRAGML_DEPS_CMD="[ -f $tarball ] || { cp $tmp/pkg.tar.xz $tarball && echo deps-ran >>$tmp/deps.log; }" "$@"
}

fresh_make -j2 "$goal" >"$tmp/make.log" 2>&1
rc=$?
[ $rc -eq 0 ] || sed 's/^/# /' "$tmp/make.log"
[ -f "$goal" ]
check $((rc | $?)) "one make run: deps installs the kernel tarball, the extraction after it finds it"

[ "$(cat "$tmp/deps.log" 2>/dev/null)" = deps-ran ]
check $? "the deps step ran exactly once"

# Packages present: deps runs again (a no-op for the real one), nothing is rebuilt.
fresh_make -j2 "$goal" >"$tmp/make2.log" 2>&1
rc=$?
[ $rc -eq 0 ] || sed 's/^/# /' "$tmp/make2.log"
! grep -q TAR "$tmp/make2.log"
check $((rc | $?)) "second run: the tree is not extracted again"

# A fresh checkout's patch files are newer than a cached kernel's stamp; the cache
# folder is named by the series' hash, so the kernel is not built again (-W is not
# passed to a sub-make: ask the inner make directly).
bz=$(fresh_make -s kernel-path 2>/dev/null | tail -1)
kdir=${bz%/arch/x86/boot/bzImage}
mkdir -p "$kdir" && touch "$kdir/.fragml-built"
newer=()
for f in "$top"/kernel-patches/*.patch "$top"/kernel-patches/series "$top"/kernel-patches/build-kernel.sh; do
	newer+=(-W "$f")
done
fresh_make -n FRAGML_DEPS_DONE=1 "${newer[@]}" "$kdir/.fragml-built" >"$tmp/make3.log" 2>&1
rc=$?
[ $rc -eq 0 ] || sed 's/^/# /' "$tmp/make3.log"
! grep -q build-kernel.sh "$tmp/make3.log"
check $((rc | $?)) "a cached kernel of the same series is not rebuilt when its patch files look newer"
