#!/bin/bash
# Boot the patched kernel in QEMU (TCG) with the host's root filesystem
# read-only over 9p and a writable 9p share for results, run one guest job,
# and return its exit status.  KTAP / job output goes to stdout, progress to
# stderr as "# ..." lines.
#
#   run-vm.sh BZIMAGE OUTDIR JOB [NAME=VALUE...]
#
# JOB is `tests` (the VM selftests) or `demo` (selftests/vm/demo-guest.sh).
# NAME=VALUE pairs reach the guest's init as environment variables (kernel
# command line), so they must not contain spaces.
#
# Guest shape (environment of this script):
#   FRAGML_VM_MEM      guest memory (default 1G)
#   FRAGML_VM_MACHINE  QEMU machine (default pc: a guest of <= 3.5 GB is all
#                      ZONE_DMA32); `pc,max-ram-below-4g=512M` gives a 1 GB
#                      guest a ZONE_NORMAL above 4 GB
#   FRAGML_VM_SWAP     size of the sparse raw swap disk created in OUTDIR for
#                      each run (default 1G; 0: no disk, the guest check fails)
#   FRAGML_VM_TIMEOUT  seconds before QEMU is killed (default 1800)
set -uo pipefail

bz=$1 out=$2 job=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
timeout_s=${FRAGML_VM_TIMEOUT:-1800}
mem=${FRAGML_VM_MEM:-1G}
machine=${FRAGML_VM_MACHINE:-pc}
swap=${FRAGML_VM_SWAP:-1G}

if ! command -v qemu-system-x86_64 >/dev/null; then
	printf '1..1\nok 1 vm-%s # SKIP qemu-system-x86_64 not installed (make deps)\n' "$job"
	exit 0
fi
[ -r "$bz" ] || { echo "run-vm: $bz missing: run 'make kernel'" >&2; exit 1; }

mkdir -p "$out"
rm -f "$out/swap.img" "$out/console-int3.log"
disk=()
# sparse, created empty at each boot (boot()): costs host disk only for what
# the guest swaps out
[ "$swap" = 0 ] || disk=(-drive "file=$out/swap.img,if=virtio,format=raw,cache=unsafe")

cmdline="console=ttyS0 printk.time=1 panic=-1 oops=panic root=/dev/root rootfstype=9p"
cmdline+=" rootflags=trans=virtio,version=9p2000.L,msize=262144,cache=loose ro"
cmdline+=" init=$here/guest-init.sh FRAGML_JOB=$job FRAGML_VMDIR=$here"
cmdline+=" FRAGML_VM_CPUS=2 FRAGML_VM_SWAP=$swap FRAGML_VM_MACHINE=$machine $*"

# One boot of the guest with QEMU accelerator $1, killed after $2 s; sets qrc.
boot() {
	local start elapsed accel=$1 limit=$2

	rm -f "$out/status" "$out/output.txt" "$out/console.log" "$out/guest.txt"
	if [ "$swap" != 0 ]; then
		rm -f "$out/swap.img"
		truncate -s "$swap" "$out/swap.img" ||
			{ echo "run-vm: cannot create $out/swap.img ($swap)" >&2; exit 1; }
	fi
	echo "# vm: booting $(basename "$bz") (${accel^^}, -machine $machine, -cpu max, -smp 2, -m $mem, swap $swap), job $job" >&2
	start=$(date +%s.%N)
	timeout --foreground "$limit" qemu-system-x86_64 \
		-machine "$machine" -cpu max -smp 2 -m "$mem" -accel "$accel" \
		-nographic -no-reboot -nodefaults -serial stdio -display none \
		-kernel "$bz" -append "$cmdline" \
		-fsdev local,id=rootfs,path=/,security_model=none,readonly=on,multidevs=remap \
		-device virtio-9p-pci,fsdev=rootfs,mount_tag=/dev/root \
		-fsdev local,id=outfs,path="$out",security_model=none,multidevs=remap \
		-device virtio-9p-pci,fsdev=outfs,mount_tag=fragml_out \
		"${disk[@]}" \
		>"$out/console.log" 2>&1 </dev/null
	qrc=$?
	elapsed=$(echo "$(date +%s.%N) - $start" | bc)
	echo "# vm: qemu exited ($qrc) after ${elapsed%.*} s; console log: $out/console.log" >&2
	[ $qrc = 124 ] && echo "# vm: timed out after $limit s" >&2
	return 0
}

# Multi-threaded TCG can run a breakpoint of live code patching (text_poke_bp():
# static calls change at every tracepoint attach and detach) after the patch
# completed, and the guest oopses on a stray int3 (first seen 2026-12-01, at the
# mm_page_alloc tracepoint's static call in __alloc_pages_noprof(), seconds
# after a policy detach; the kernel's protocol rules it out on hardware).
# Single-threaded TCG runs both vCPUs on one host thread, so no vCPU runs while
# another modifies code: the selftests use it (the suite took 809 s there, 839 s
# multi-threaded).  The demo and the evaluation keep multi-threaded TCG, which
# their published figures used, and a boot of theirs that oopses on a stray
# int3 runs once more single-threaded, saying so; any other crash ends the run.
if [ "$job" = tests ]; then
	boot tcg,thread=single "$timeout_s"
else
	boot tcg "$timeout_s"
	if [ ! -f "$out/status" ] && grep -q 'Oops: int3' "$out/console.log"; then
		mv "$out/console.log" "$out/console-int3.log"
		echo "# vm: the guest kernel oopsed on a stray int3 ($(grep -m1 -o 'RIP: 0010:[^ ]*' "$out/console-int3.log")); running job $job once more on single-threaded TCG; that console: $out/console-int3.log" >&2
		boot tcg,thread=single $((timeout_s * 2))
	fi
fi
rm -f "$out/swap.img"

[ -f "$out/guest.txt" ] && cat "$out/guest.txt" >&2
if [ -f "$out/output.txt" ]; then
	cat "$out/output.txt"
fi
if [ ! -f "$out/status" ]; then
	echo "# vm: the guest did not finish its job; last console lines:" >&2
	tail -25 "$out/console.log" | sed 's/^/#   /' >&2
	exit 1
fi
exit "$(cat "$out/status")"
