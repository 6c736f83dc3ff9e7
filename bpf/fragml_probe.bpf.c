// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fragml probe: one trivial program per program type fragml uses or could
 * use.  `fragml probe` loads and attaches them one at a time (autoload off for
 * the others) and detaches at once: what the kernel accepts, not what its
 * version suggests.  Every program returns at once and changes nothing.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/mm_page_alloc")
int probe_tp_btf(void *ctx)
{
	return 0;
}

SEC("raw_tp/mm_page_alloc")
int probe_raw_tp(void *ctx)
{
	return 0;
}

SEC("tracepoint/kmem/mm_page_alloc")
int probe_tracepoint(void *ctx)
{
	return 0;
}

SEC("syscall")
int probe_syscall(void *ctx)
{
	return 0;
}

/* target chosen at run time among functions the kernel's BTF has */
SEC("fentry")
int probe_fentry(void *ctx)
{
	return 0;
}

SEC("lsm/file_open")
int probe_lsm(void *ctx)
{
	return 0;	/* 0: allow */
}
