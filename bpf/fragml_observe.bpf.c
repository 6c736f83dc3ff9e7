// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Observe (shadow) mode: evaluate the loaded models at tracepoints of a stock
 * kernel and attribute fragmentation to its sources.  Decisions are counted per
 * model version and action (fragml_eval.bpf.h); nothing is enforced.  The
 * tracking core (fragml_track.bpf.h) in its observe mode: this file adds the
 * compiled-model program array and the user-fault program.
 *
 *   lifetime   every mm_page_alloc_extfrag fallback and 1 in 2^track_sample_shift
 *              (16) unmovable or reclaimable page allocations; the per-source
 *              decision counts are scaled back up (fragml_track.bpf.h)
 *   thp_fault  every order-9 movable allocation inside a user fault
 *   compaction every mm_compaction_begin
 *
 * With identification (fragml-load --identify) the maps fragml_src,
 * fragml_src_slab, fragml_blocks, fragml_stats and fragml_sites are pinned by
 * name next to the model maps, so `fragml top` / `fragml report` read them
 * while the programs stay attached; without it they are not created and
 * fragml_observe_slab is not loaded (the loader clears want_ident).
 * tp_btf only: loads on the stock 6.18 host and on 6.12 (CO-RE).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "fragml_eval.bpf.h"

/*
 * Compiled model versions (loader/compile.c): a tail call needs a program of
 * the caller's type and attach prototype, so a deciding program has its own
 * program array, one slot per hook, which the loader fills with a program
 * compiled for that tracepoint (found through the pinned link).  The
 * verifier allows a tail call from a subprogram only while the frames before
 * it stay below 256 bytes: the tracking core builds its larger records in a
 * per-CPU map (fragml_track_scratch), not on the stack (docs/performance.md).
 */
FRAGML_CPROG_ARRAY(fragml_cprog_cb);
FRAGML_TAIL_DECIDE(fragml_tc_compact, fragml_cprog_cb, FRAGML_HOOK_COMPACTION)

/* The allocation programs' arrays: lifetime and thp_fault at mm_page_alloc,
 * lifetime at mm_page_alloc_extfrag (each tracepoint its own prototype). */
FRAGML_CPROG_ARRAY(fragml_cprog_al);
FRAGML_CPROG_ARRAY(fragml_cprog_ef);
FRAGML_TAIL_DECIDE(fragml_tc_life_al, fragml_cprog_al, FRAGML_HOOK_LIFETIME)
FRAGML_TAIL_DECIDE(fragml_tc_thp_al, fragml_cprog_al, FRAGML_HOOK_THP_FAULT)
FRAGML_TAIL_DECIDE(fragml_tc_life_ef, fragml_cprog_ef, FRAGML_HOOK_LIFETIME)

#define FRAGML_OBSERVE 1
#define FRAGML_PIN_SITES 1
#define FRAGML_PIN_SITE_LIFE 1	/* fragml-load --site-table writes it */
#define FRAGML_PIN_TASKS 1	/* the policy's placement hook reads it */
#define FRAGML_IDENT_PIN __uint(pinning, LIBBPF_PIN_BY_NAME);
#include "fragml_track.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* alloc, extfrag, free, slab, compact_begin, compact_end, exit: fragml_track.bpf.h */

SEC("tp_btf/page_fault_user")
int BPF_PROG(fragml_observe_fault, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	fragml_fault_note(address);
	return 0;
}
