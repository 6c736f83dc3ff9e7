// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Observe (shadow) mode: evaluate the loaded models at tracepoints of a stock
 * kernel.  Decisions are counted per model version and action; nothing is
 * enforced.  Runs on any kernel with BTF (tp_btf only).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "fragml_eval.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* A page allocation fell back to a pageblock of another migratetype. */
SEC("tp_btf/mm_page_alloc_extfrag")
int BPF_PROG(fragml_shadow_extfrag, struct page *page, int alloc_order, int fallback_order,
	     int alloc_migratetype, int fallback_migratetype)
{
	struct fragml_vec *v = fragml_scratch_vec();
	struct fragml_result res;

	if (!v)
		return 0;
	v->f[FRAGML_F_ORDER] = alloc_order;
	v->f[FRAGML_F_MIGRATETYPE] = alloc_migratetype;
	v->f[FRAGML_F_FALLBACK_MT] = fallback_migratetype;
	v->f[FRAGML_F_CHANGE_OWNER] = fallback_order >= 9;
	v->f[FRAGML_F_IS_KTHREAD] = !!(bpf_get_current_task_btf()->flags & 0x00200000 /* PF_KTHREAD */);
	fragml_decide(FRAGML_HOOK_LIFETIME, v, &res);
	return 0;
}
