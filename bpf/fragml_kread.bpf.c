// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Read kernel memory for the pageblock scan (loader/pageblock.c): a `syscall`
 * program run by BPF_PROG_TEST_RUN copies up to 4 KiB at `kread_addr` into
 * .bss.  The stock host has no CONFIG_KALLSYMS_ALL, so `mem_section` (where
 * each pageblock's migratetype bits live) has no ksym; its address comes from
 * the kernel's own VMCOREINFO note, which this program also reads.  Read-only:
 * bpf_probe_read_kernel faults safely on a bad address and reports it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define FRAGML_KREAD_MAX 4096

__u64 kread_addr;
__u32 kread_len;
long kread_ret;
char kread_buf[FRAGML_KREAD_MAX];

SEC("syscall")
int fragml_kread(void *ctx)
{
	__u32 len = kread_len;

	if (len > FRAGML_KREAD_MAX)
		len = FRAGML_KREAD_MAX;
	if (!len)
		len = 1;
	kread_ret = bpf_probe_read_kernel(kread_buf, len, (const void *)kread_addr);
	return 0;
}
