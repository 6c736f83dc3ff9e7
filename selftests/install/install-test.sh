#!/usr/bin/env bash
# KTAP: install into a DESTDIR and build an outside program with pkg-config,
# once against the shared and once against the static library.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
echo "TAP version 13"
echo "1..5"
n=0
check() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n $2"; else echo "not ok $n $2"; fi; }

make -s -C "$top" install DESTDIR="$dest" PREFIX=/usr >"$dest/install.log" 2>&1
rc=$?
[ $rc -eq 0 ] || sed 's/^/# /' "$dest/install.log" | tail -n 20
[ -f "$dest/usr/include/fragml/fragml_model.h" ] && [ -f "$dest/usr/lib/pkgconfig/fragml.pc" ] &&
	[ -f "$dest/usr/share/man/man1/fragml.1" ] && [ -f "$dest/usr/share/man/man1/fragml-load.1" ]
check $(( rc | $? )) "install: headers under include/fragml, pkg-config files, manual pages"

export PKG_CONFIG_SYSROOT_DIR="$dest" PKG_CONFIG_PATH="$dest/usr/lib/pkgconfig"
cflags=$(pkg-config --cflags fragml) && libs=$(pkg-config --libs fragml)
cc -std=c11 -Wall -Wextra -Werror $cflags -o "$dest/consumer" "$top/selftests/install/consumer.c" $libs \
	2>&1 | sed 's/^/# /'
check "${PIPESTATUS[0]}" "pkg-config: an outside program builds against libfragml.so"

out=$(LD_LIBRARY_PATH="$dest/usr/lib" "$dest/consumer" "$top/model/defaults/lifetime.bin" 2>&1)
echo "# $out"
case "$out" in hook=lifetime*action=*) r=0 ;; *) r=1 ;; esac
check $r "the outside program reads and evaluates the shipped lifetime model"

cc -std=c11 -Wall -Wextra -Werror $cflags -o "$dest/consumer-static" "$top/selftests/install/consumer.c" \
	"$dest/usr/lib/libfragml.a" $(pkg-config --libs-only-l --static fragml | sed 's/-lfragml//') 2>&1 | sed 's/^/# /'
r=${PIPESTATUS[0]}
[ $r -eq 0 ] && "$dest/consumer-static" "$top/model/defaults/compaction.bin" | sed 's/^/# /'
check $(( r | ${PIPESTATUS[0]} )) "the static library links and runs without libbpf installed"

# The watchdog's unit and config: the unit names the installed command, is
# skipped on kernels without BTF, restarts on failure; the config is valid
# with the installed models.
unit="$dest/usr/lib/systemd/system/fragml.service" conf="$dest/etc/fragml/fragml.conf"
grep -q '^ExecStart=/usr/bin/fragml daemon --config /etc/fragml/fragml.conf$' "$unit" &&
	grep -q '^Restart=on-failure$' "$unit" && grep -q '^ConditionPathExists=/sys/kernel/btf/vmlinux$' "$unit" &&
	sed "s|/usr/share/fragml|$dest/usr/share/fragml|" "$conf" >"$dest/check.conf" &&
	"$dest/usr/bin/fragml" daemon --check --config "$dest/check.conf" | sed 's/^/# /'
check "${PIPESTATUS[0]}" "systemd unit and config: installed, the config and its models valid"
