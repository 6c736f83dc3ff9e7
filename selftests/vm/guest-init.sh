#!/bin/sh
# PID 1 of the test VM (run-vm.sh): mount what the tests need, set THP to
# `always`, run the job, write its output and status to the results share,
# power off.  FRAGML_JOB, FRAGML_VMDIR and the rest come from the kernel
# command line.  The checkout may live anywhere on the host, /tmp included.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp LANG=C

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd	# bash process substitution
mount -t tmpfs tmpfs /run
# The tools need a writable /tmp, but the checkout (and so the test binaries)
# may itself live under /tmp on the host: keep the host's view of those
# folders visible through the guest's tmpfs.
mkdir -p /run/host-tmp
mount --bind /tmp /run/host-tmp
mount -t tmpfs -o mode=1777 tmpfs /tmp
for p in "$FRAGML_VMDIR" "$FRAGML_TESTDIR" "$FRAGML_BIN" "$FRAGML_MMDIR" "$FRAGML_SCRIPT" "$FRAGML_EVAL_OUT"; do
	case $p in
	/tmp/?*)
		top=${p#/tmp/}; top=${top%%/*}
		if [ -d "/run/host-tmp/$top" ] && [ ! -d "/tmp/$top" ]; then
			mkdir -p "/tmp/$top" && mount --bind "/run/host-tmp/$top" "/tmp/$top"
		fi ;;
	esac
done
mount -t bpf bpf /sys/fs/bpf
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mkdir -p /tmp/out
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 fragml_out /tmp/out

mkdir -p /sys/fs/cgroup
mount -t cgroup2 cgroup2 /sys/fs/cgroup

echo always >/sys/kernel/mm/transparent_hugepage/enabled
ulimit -l unlimited

# Swap on the virtio disk run-vm.sh attaches (FRAGML_VM_SWAP=0: none).
if [ "${FRAGML_VM_SWAP:-0}" != 0 ] && [ -b /dev/vda ]; then
	mkswap /dev/vda >/dev/null 2>&1 && swapon /dev/vda 2>/dev/null
fi

# What the guest got, checked against what it was given: a run on a guest
# that lacks any of it would measure another kernel.
guest_check() {
	local bad="" cpus want swapkb rcl zones memmb memcg=on psi=on
	want=${FRAGML_VM_CPUS:-1}
	cpus=$(getconf _NPROCESSORS_ONLN)
	[ "$cpus" = "$want" ] || bad="$bad; $cpus of $want CPUs online (CONFIG_ACPI?)"
	swapkb=$(awk 'NR > 1 { s += $3 } END { print s + 0 }' /proc/swaps)
	if [ "${FRAGML_VM_SWAP:-0}" != 0 ] && [ "$swapkb" = 0 ]; then
		bad="$bad; no active swap on /dev/vda (CONFIG_SWAP, CONFIG_VIRTIO_BLK?)"
	fi
	if ! grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
		memcg=off bad="$bad; no memory controller in /sys/fs/cgroup/cgroup.controllers (CONFIG_MEMCG?)"
	fi
	if ! cat /proc/pressure/memory >/dev/null 2>&1; then
		psi=off bad="$bad; no /proc/pressure/memory (CONFIG_PSI?)"
	fi
	# SLUB (not SLUB_TINY): reclaimable kmalloc caches exist and are not
	# merged into the normal ones.
	rcl=0
	for c in /sys/kernel/slab/kmalloc-rcl-*; do
		[ "$(cat "$c/reclaim_account" 2>/dev/null)" = 1 ] && rcl=$((rcl + 1))
	done
	[ "$rcl" -gt 0 ] || bad="$bad; no reclaimable kmalloc-rcl-* SLUB caches (SLUB_TINY?)"
	zones=$(awk '{ printf "%s%s", (NR > 1 ? "+" : ""), $4 }' /proc/buddyinfo)
	memmb=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
	GUEST_LINE="# guest: $(uname -r), $cpus/$want CPUs online, ${memmb} MB ($zones, machine ${FRAGML_VM_MACHINE:-pc}), swap ${swapkb} kB, memcg $memcg, PSI $psi, SLUB kmalloc-rcl-* x$rcl, THP $(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/enabled)"
	GUEST_BAD=${bad#; }
}
guest_check
echo "$GUEST_LINE" >/dev/console
echo "$GUEST_LINE" >/tmp/out/guest.txt
if [ -n "$GUEST_BAD" ]; then
	echo "# guest check failed: $GUEST_BAD" >/dev/console
	echo "# guest check failed: $GUEST_BAD" >>/tmp/out/guest.txt
	echo "guest-init: the guest is not the one asked for: $GUEST_BAD" >/tmp/out/output.txt
	echo 1 >/tmp/out/status
	sync
	umount /tmp/out
	/bin/busybox reboot -f
fi

cd /tmp
case $FRAGML_JOB in
tests)	# every VM test binary; the status is the first failure's.  guard_test
	# last: the others drive the policy from their own (untrusted) process.
	# timing.txt: seconds per test, slowest first (where the check's time goes)
	# FRAGML_VM_ONLY=fixture.test,...: only those tests (a binary with none
	# of them is not run).
	rc=0
	for t in policy_test gate_test watchdog_test canary_test guard_test; do
		set --
		if [ -n "${FRAGML_VM_ONLY:-}" ]; then
			# the binary's fixtures: the names -l prints in its first column
			fx=" $("$FRAGML_TESTDIR/$t" -l 2>&1 | awk '$1 !~ /^(#|-)/ && substr($0, 1, 1) != " " { print $1 }' | tr '\n' ' ')"
			for n in $(echo "$FRAGML_VM_ONLY" | tr , ' '); do
				case $fx in *" ${n%%.*} "*) set -- "$@" -r "$n" ;; esac
			done
			[ $# = 0 ] && continue
		fi
		{ "$FRAGML_TESTDIR/$t" "$@" 2>&1; echo $? >/tmp/rc; } | while IFS= read -r l; do
			printf '%s\n' "$l" >>/tmp/out/output.txt
			case $l in "#  RUN "*) n=${l#\#  RUN }; n=${n%% ...}; s=$(date +%s.%N) ;;
			ok\ *|not\ ok\ *) [ -n "$s" ] && echo "$(date +%s.%N) $s $n" >>/tmp/timing; s= ;;
			esac
		done
		r=$(cat /tmp/rc)
		[ "$r" != 0 ] && [ $rc = 0 ] && rc=$r
	done
	awk '{ printf "%7.1f s  %s\n", $1 - $2, $3 }' /tmp/timing 2>/dev/null | sort -rn >/tmp/out/timing.txt
	(exit $rc) ;;
demo)	"$FRAGML_VMDIR/demo-guest.sh" >/tmp/out/output.txt 2>&1 ;;
script)	"$FRAGML_SCRIPT" >/tmp/out/output.txt 2>&1 ;;	# ad-hoc: run-vm.sh BZ OUT script FRAGML_SCRIPT=/path
*)	echo "guest-init: unknown FRAGML_JOB '$FRAGML_JOB'" >/tmp/out/output.txt; false ;;
esac
echo $? >/tmp/out/status
sync
umount /tmp/out
/bin/busybox reboot -f
