// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The identification feed: one ring-buffer record per lifetime decision on
 * an allocation that can pin a pageblock.  Loaded by the feed publisher
 * (`fragml feed serve`, loader/feed_serve.c) for as long as it runs; nothing
 * of its own is pinned.  It shares the pinned model maps (fragml_models,
 * fragml_counters, fragml_info, fragml_sites) with the observe programs, so
 * the record names the model version that is in force, but it does not count
 * its evaluations: `fragml status` keeps counting the observe programs only.
 *
 * Classic tracepoints (kmem/mm_page_alloc, mm_page_alloc_extfrag,
 * mm_page_free) because their records carry the pfn; tp_btf/kmem_cache_alloc
 * names the cache of a slab page.  Records:
 *   every mm_page_alloc_extfrag fallback of an unmovable/reclaimable allocation
 *   1 in 2^feed_sample_shift other unmovable/reclaimable page allocations
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "fragml_eval.bpf.h"
#define FRAGML_PIN_SITES 1
#include "fragml_features.bpf.h"
#include "fragml_feed_events.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 feed_sample_shift = 4;	/* non-fallback allocations: 1 in 2^n */
const volatile __u32 feed_self_tgid;		/* the publisher: never report its own sends */
const volatile __u64 feed_lifetime_T_ns = 10ULL * FRAGML_NSEC_PER_SEC;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);	/* resized by the publisher */
} fragml_feed_rb SEC(".maps");

/* Reported pages still allocated: feeds the task_long_ppk feature like the
 * observe programs' fragml_live does (same T). */
struct fragml_feed_live {
	__u64 ts;
	__u32 tgid;
	__u32 pad;
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);			/* pfn */
	__type(value, struct fragml_feed_live);
} fragml_feed_live SEC(".maps");

/* A slab-class record waiting for kmem_cache_alloc to name its cache. */
struct fragml_feed_pending {
	struct fragml_feed_ev ev;
	__u64 ts;
	__u32 tid;
	__u32 valid;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fragml_feed_pending);
} fragml_feed_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} fragml_feed_stats SEC(".maps");	/* 0: records lost (ring full), 1: records sent */

static __always_inline void feed_stat(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&fragml_feed_stats, &idx);

	if (c)
		*c += 1;
}

static __always_inline void feed_submit(const struct fragml_feed_ev *ev)
{
	struct fragml_feed_ev *e = bpf_ringbuf_reserve(&fragml_feed_rb, sizeof(*e), 0);

	if (!e) {
		feed_stat(0);
		return;
	}
	__builtin_memcpy(e, ev, sizeof(*e));
	bpf_ringbuf_submit(e, 0);
	feed_stat(1);
}

/* Send a pending slab record whose cache never showed up (1 ms). */
static __always_inline struct fragml_feed_pending *feed_pending_flush(__u64 now, int force)
{
	__u32 zero = 0;
	struct fragml_feed_pending *p = bpf_map_lookup_elem(&fragml_feed_pending, &zero);

	if (p && p->valid && (force || now - p->ts > 1000000)) {
		p->valid = 0;
		feed_submit(&p->ev);
	}
	return p;
}

static __always_inline int feed_on_alloc(void *ctx, __u64 pfn, __u32 order, __u32 gfp, int mt,
					 int extfrag, int block_mt, int claim)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns();
	__u32 tgid = id >> 32, weight = 1;
	int kthread = fragml_is_kthread(task);
	struct fragml_task_state *t = NULL;
	struct fragml_feed_pending *p;
	struct fragml_result res;
	struct fragml_feed_ev *ev;
	struct fragml_vec *v;
	__u32 cls;

	if (mt == MIGRATE_MOVABLE || pfn == (__u64)-1)
		return 0;	/* the hot path */
	if (feed_self_tgid && tgid == feed_self_tgid)
		return 0;
	if (kthread)
		tgid = 0;
	else {
		t = fragml_task_get(tgid, now);
		fragml_note_alloc(t, 1U << (order & 15), 0);
	}
	if (extfrag)
		fragml_note_extfrag(now);
	else if (feed_sample_shift) {
		if (bpf_get_prandom_u32() & ((1U << (feed_sample_shift & 31)) - 1))
			return 0;
		weight = 1U << (feed_sample_shift & 31);
	}
	cls = fragml_alloc_class(ctx, mt, 0, gfp, order);
	v = fragml_scratch_vec();
	if (!v)
		return 0;
	fragml_lifetime_features(v, now, t, order, gfp, mt, extfrag ? block_mt : FRAGML_MISSING,
				 extfrag ? claim : FRAGML_MISSING, cls, kthread);
	{
		/* evaluate without counting: the observe programs count this decision */
		const struct fragml_blob *m = fragml_model_get(FRAGML_HOOK_LIFETIME);

		res.version = 0;
		res.action = 0;
		res.score = 0;
		if (m && m->version)
			fragml_eval_blob(m, v, &res);
	}

	p = feed_pending_flush(now, cls == FRAGML_CLASS_SLAB);
	if (!p)
		return 0;
	ev = &p->ev;
	ev->ts = now;
	ev->pfn = pfn;
	ev->cgroup = bpf_get_current_cgroup_id();
	ev->score = res.score;
	ev->tgid = tgid;
	ev->model_version = res.version;
	ev->weight = weight;
	ev->cls = cls;
	ev->action = res.action;
	ev->flags = (extfrag ? FRAGML_ALLOC_F_EXTFRAG : 0) |
		    (extfrag && claim > 0 ? FRAGML_ALLOC_F_CLAIM : 0) |
		    (kthread ? FRAGML_ALLOC_F_KTHREAD : 0);
	ev->order = order;
	ev->mt = mt;
	ev->block_mt = extfrag ? block_mt : mt;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	ev->slab[0] = 0;
	if (cls == FRAGML_CLASS_SLAB) {
		p->ts = now;
		p->tid = (__u32)id;
		p->valid = 1;
	} else {
		feed_submit(ev);
	}
	{
		struct fragml_feed_live lv = { .ts = now, .tgid = tgid };

		bpf_map_update_elem(&fragml_feed_live, &pfn, &lv, BPF_ANY);
	}
	return 0;
}

SEC("tracepoint/kmem/mm_page_alloc")
int fragml_feed_alloc(struct trace_event_raw_mm_page_alloc *ctx)
{
	return feed_on_alloc(ctx, BPF_CORE_READ(ctx, pfn), BPF_CORE_READ(ctx, order),
			     (__u32)BPF_CORE_READ(ctx, gfp_flags), BPF_CORE_READ(ctx, migratetype),
			     0, 0, 0);
}

SEC("tracepoint/kmem/mm_page_alloc_extfrag")
int fragml_feed_extfrag(struct trace_event_raw_mm_page_alloc_extfrag *ctx)
{
	int fallback_order = BPF_CORE_READ(ctx, fallback_order);

	return feed_on_alloc(ctx, BPF_CORE_READ(ctx, pfn), BPF_CORE_READ(ctx, alloc_order), 0,
			     BPF_CORE_READ(ctx, alloc_migratetype), 1,
			     BPF_CORE_READ(ctx, fallback_migratetype),
			     fallback_order >= FRAGML_HPAGE_ORDER);
}

SEC("tracepoint/kmem/mm_page_free")
int fragml_feed_free(struct trace_event_raw_mm_page_free *ctx)
{
	__u64 pfn = BPF_CORE_READ(ctx, pfn), now;
	struct fragml_feed_live *lv = bpf_map_lookup_elem(&fragml_feed_live, &pfn);
	struct fragml_task_state *t;

	if (!lv)
		return 0;
	if (lv->tgid) {
		t = bpf_map_lookup_elem(&fragml_task_state, &lv->tgid);
		now = bpf_ktime_get_ns();
		if (t) {
			if (now - lv->ts >= feed_lifetime_T_ns)
				t->long_cnt++;
			else
				t->short_cnt++;
		}
	}
	bpf_map_delete_elem(&fragml_feed_live, &pfn);
	return 0;
}

SEC("tp_btf/kmem_cache_alloc")
int BPF_PROG(fragml_feed_slab, unsigned long call_site, const void *ptr, struct kmem_cache *s)
{
	__u32 zero = 0, tid = (__u32)bpf_get_current_pid_tgid();
	struct fragml_feed_pending *p = bpf_map_lookup_elem(&fragml_feed_pending, &zero);

	if (!p || !p->valid || p->tid != tid)
		return 0;
	if (s)
		bpf_probe_read_kernel_str(p->ev.slab, sizeof(p->ev.slab), BPF_CORE_READ(s, name));
	p->valid = 0;
	feed_submit(&p->ev);
	return 0;
}

/* Free the per-process state with the process (fragml_task_state). */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(fragml_feed_exit, struct task_struct *task)
{
	fragml_task_exit(task);
	return 0;
}
