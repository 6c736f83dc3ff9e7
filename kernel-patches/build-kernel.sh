#!/bin/bash
# Build the patched kernel for the VM selftests (called by `make kernel`).
#
#   build-kernel.sh TARBALL PATCHDIR CONFIG_FRAGMENT BUILDDIR
#
# BUILDDIR is keyed by the hash of the series and the config fragment, so a
# finished build is reused as is; an interrupted one resumes with `make`.
set -euo pipefail

tarball=$1 patchdir=$2 frag=$3 dir=$4
jobs=$(nproc)

if [ ! -f "$dir/.fragml-configured" ]; then
	rm -rf "$dir"
	mkdir -p "$dir"
	echo "  KTAR    $tarball -> $dir"
	tar -C "$dir" --strip-components=1 -xf "$tarball"
	while read -r p; do
		case $p in ''|'#'*) continue ;; esac
		if ! patch -d "$dir" -p1 -N --dry-run -s <"$patchdir/$p" >/dev/null 2>&1; then
			echo "make kernel: kernel-patches/$p does not apply to $(basename "$tarball"):" >&2
			patch -d "$dir" -p1 -N --dry-run <"$patchdir/$p" >&2 || true
			echo "make kernel: refresh the series against this tarball (see docs/kernel-hooks.md)" >&2
			exit 1
		fi
		echo "  PATCH   $p"
		patch -d "$dir" -p1 -N -s <"$patchdir/$p"
	done <"$patchdir/series"
	echo "  CONFIG  tinyconfig + $(basename "$frag")"
	make -s -C "$dir" ARCH=x86_64 tinyconfig >/dev/null
	(cd "$dir" && scripts/kconfig/merge_config.sh -m .config "$frag" >/dev/null)
	make -s -C "$dir" ARCH=x86_64 olddefconfig >/dev/null
	missing=0
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*) ;;
		'# CONFIG_'*' is not set')
			opt=${line#\# }; opt=${opt%% *}
			if grep -q "^$opt=" "$dir/.config"; then
				echo "make kernel: $opt is still set although $(basename "$frag") turns it off" >&2
				missing=1
			fi
			continue ;;
		*) continue ;;
		esac
		if ! grep -qx "$line" "$dir/.config"; then
			echo "make kernel: $line from $(basename "$frag") did not stick (missing dependency?)" >&2
			missing=1
		fi
	done <"$frag"
	[ $missing = 0 ] || exit 1
	touch "$dir/.fragml-configured"
fi

echo "  KBUILD  bzImage (-j$jobs) in $dir"
start=$(date +%s)
# The parallel build of tools/bpf/resolve_btfids (its libsubcmd) races with
# itself now and then: on a failure, redo `prepare` serially and go on.
if ! { make -C "$dir" ARCH=x86_64 -j"$jobs" bzImage >"$dir/build.log" 2>&1 ||
       { make -C "$dir" ARCH=x86_64 -j1 prepare >>"$dir/build.log" 2>&1 &&
	 make -C "$dir" ARCH=x86_64 -j"$jobs" bzImage >>"$dir/build.log" 2>&1; }; }; then
	tail -40 "$dir/build.log" >&2
	echo "make kernel: build failed, full log in $dir/build.log" >&2
	exit 1
fi
echo "  KBUILD  done in $(( $(date +%s) - start )) s"
touch "$dir/.fragml-built"
