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
mount -t tmpfs tmpfs /run
# The tools need a writable /tmp, but the checkout (and so the test binaries)
# may itself live under /tmp on the host: keep the host's view of those
# folders visible through the guest's tmpfs.
mkdir -p /run/host-tmp
mount --bind /tmp /run/host-tmp
mount -t tmpfs -o mode=1777 tmpfs /tmp
for p in "$FRAGML_VMDIR" "$FRAGML_TESTDIR" "$FRAGML_BIN" "$FRAGML_MMDIR" "$FRAGML_SCRIPT"; do
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

echo always >/sys/kernel/mm/transparent_hugepage/enabled
ulimit -l unlimited
echo "# guest: $(uname -r), $(nproc) CPUs, THP $(cat /sys/kernel/mm/transparent_hugepage/enabled)" >/dev/console

cd /tmp
case $FRAGML_JOB in
tests)	# every VM test binary; the status is the first failure's.  guard_test
	# last: the others drive the policy from their own (untrusted) process.
	rc=0
	for t in policy_test gate_test guard_test; do
		"$FRAGML_TESTDIR/$t" >>/tmp/out/output.txt 2>&1 || { [ $rc = 0 ] && rc=$?; }
	done
	(exit $rc) ;;
demo)	"$FRAGML_VMDIR/demo-guest.sh" >/tmp/out/output.txt 2>&1 ;;
script)	"$FRAGML_SCRIPT" >/tmp/out/output.txt 2>&1 ;;	# ad-hoc: run-vm.sh BZ OUT script FRAGML_SCRIPT=/path
*)	echo "guest-init: unknown FRAGML_JOB '$FRAGML_JOB'" >/tmp/out/output.txt; false ;;
esac
echo $? >/tmp/out/status
sync
umount /tmp/out
/bin/busybox reboot -f
