/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Source identification and allocation tracking, shared by the observe
 * programs (FRAGML_OBSERVE: shadow decisions, maps pinned for `fragml top`) and
 * the collector (FRAGML_COLLECT: ring-buffer records for the datasets).
 * The includer defines exactly one of them, and FRAGML_IDENT_PIN to the
 * pinning attribute of the identification maps (or to nothing).
 */
#ifndef FRAGML_TRACK_BPF_H
#define FRAGML_TRACK_BPF_H

#include "fragml_features.bpf.h"
#include "fragml_collect_events.h"

/* Settings fixed at load time (the observe programs keep the sampled defaults). */
#ifndef FRAGML_TRACK_SAMPLE_SHIFT
#define FRAGML_TRACK_SAMPLE_SHIFT 4
#endif
#ifndef FRAGML_LIVE_SAMPLE_SHIFT
#define FRAGML_LIVE_SAMPLE_SHIFT 2
#endif
#ifndef FRAGML_SLAB_SAMPLE_SHIFT
#define FRAGML_SLAB_SAMPLE_SHIFT 4
#endif
const volatile __u32 track_sample_shift = FRAGML_TRACK_SAMPLE_SHIFT;	/* track 1 in 2^n unmovable/reclaimable allocs */
/* Of the sampled allocations, follow 1 in 2^n to their free (fallbacks always):
 * the hash insert and delete are the costliest part of a sampled allocation,
 * and outside fallbacks lifetimes only feed the task_long_ppk feature. */
const volatile __u32 live_sample_shift = FRAGML_LIVE_SAMPLE_SHIFT;
const volatile __u32 slab_sample_shift = FRAGML_SLAB_SAMPLE_SHIFT;	/* count 1 in 2^n slab objects per source */
const volatile __u64 lifetime_T_ns = 10ULL * FRAGML_NSEC_PER_SEC;
const volatile __u32 want_stacks = 0;
/* What the loader asked for (docs/operator.md, "Kernel memory").  A path that
 * is off is dead code for the verifier, and its maps are not created:
 *   want_ident  source identification: fragml_src, fragml_src_slab, fragml_blocks
 *               (`fragml top`, `fragml report`, the collector)
 *   want_live   follow sampled allocations to their free (fragml_live and its
 *               filter): the task_long_ppk feature and the collector's lifetimes */
const volatile __u32 want_ident = 1;
const volatile __u32 want_live = 1;
/* fragml_track_filter slots - 1 (a power of two, sized to the machine's pageblocks) */
#define FRAGML_FILTER_SLOTS	65536	/* compiled-in default */
const volatile __u32 filter_mask = FRAGML_FILTER_SLOTS - 1;

/* fragml-collect --pid / --cgroup (0: everyone).  The observe programs keep 0,
 * so the verifier drops the checks from their hot paths. */
const volatile __u32 filter_tgid = 0;
const volatile __u64 filter_memcg_ino = 0;	/* memory cgroup directory inode (= kernfs id) */

/* Set by the collector for vmemmap calibration (loader/collect.c). */
volatile __u32 calib_tgid;
volatile __u64 calib_page;

/* Sized by the loader to a share of RAM (--track-pages); elements are allocated
 * when a page is tracked and freed with it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 262144);
	__type(key, __u64);			/* struct page * */
	__type(value, struct fragml_live);
} fragml_live SEC(".maps");

/*
 * Counting filter in front of fragml_live: tracked pages per pageblock slot
 * ((struct page * >> 15) & filter_mask; the loader sizes it to the machine's
 * pageblocks, so there is no aliasing up to the largest pfn it saw).
 * mm_page_free runs on every freed page; a free in a slot with no tracked page
 * (almost every free of anonymous or page-cache memory) returns after one
 * inlined array access instead of a hash lookup.  Aliasing only costs lookups.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FRAGML_FILTER_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} fragml_track_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct fragml_src_key);
	__type(value, struct fragml_src_val);
	FRAGML_IDENT_PIN
} fragml_src SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct fragml_slab_key);
	__type(value, struct fragml_slab_val);
	FRAGML_IDENT_PIN
} fragml_src_slab SEC(".maps");

/* At most one entry per pageblock of the machine (the loader sets max_entries). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u64);			/* page >> 15: the pageblock */
	__type(value, struct fragml_block_val);
	FRAGML_IDENT_PIN
} fragml_blocks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FRAGML_NR_STATS);
	__type(key, __u32);
	__type(value, __u64);
	FRAGML_IDENT_PIN
} fragml_stats SEC(".maps");

/* A slab page allocated on this CPU whose cache is not known yet. */
struct fragml_pending_slab {
	__u64 page;
	__u64 ts;
	__u32 tid;
	__u32 tgid;
	__u32 order;
	__u32 rng;	/* per-CPU xorshift32 state: slab sampling without a helper call */
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fragml_pending_slab);
} fragml_pending_slab SEC(".maps");

#ifdef FRAGML_COLLECT
/* Compaction run in progress, per thread (begin -> end): the collector's
 * compaction rows.  One element per running compaction. */
struct fragml_compact_run {
	__u64 t0;
	struct fragml_vec v;
};
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct fragml_compact_run);
} fragml_compact_runs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);	/* resized by the loader */
} fragml_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__uint(value_size, FRAGML_STACK_DEPTH * sizeof(__u64));
} fragml_stackmap SEC(".maps");

/* 2 MB regions already seen: (tgid, region); max_entries set by the collector */
struct fragml_region_key {
	__u32 tgid;
	__u32 pad;
	__u64 region;
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 262144);
	__type(key, struct fragml_region_key);
	__type(value, __u8);
} fragml_regions SEC(".maps");
#endif

static __always_inline void fragml_stat(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&fragml_stats, &idx);

	if (c)
		*c += 1;
}

/* Is `task` (of process `tgid`) one the collector was asked to follow?  The
 * cgroup filter matches the task's memory cgroup or one of its 7 nearest
 * ancestors (cgroup v1 memory hierarchy or v2). */
static __always_inline int fragml_task_wanted(struct task_struct *task, __u32 tgid)
{
	struct cgroup_subsys_state *css;
	int id;

	if (filter_tgid && tgid != filter_tgid)
		return 0;
	if (!filter_memcg_ino)
		return 1;
	if (!bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
		return 0;
	id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	css = BPF_CORE_READ(task, cgroups, subsys[id & 15]);
	for (int i = 0; i < 8 && css; i++) {
		if (BPF_CORE_READ(css, cgroup, kn, id) == filter_memcg_ino)
			return 1;
		css = BPF_CORE_READ(css, parent);
	}
	return 0;
}

static __always_inline void *fragml_reserve(__u64 size)
{
#ifdef FRAGML_COLLECT
	void *p = bpf_ringbuf_reserve(&fragml_events, size, 0);

	if (!p)
		fragml_stat(FRAGML_STAT_LOST);	/* always reported by the collector */
	return p;
#else
	return NULL;
#endif
}

static __always_inline struct fragml_src_val *fragml_src_get(struct fragml_src_key *k,
							   struct task_struct *task, __u64 now)
{
	struct fragml_src_val *s;

	if (!want_ident)
		return NULL;
	s = bpf_map_lookup_elem(&fragml_src, k);
	if (!s) {
		struct fragml_src_val init = {};

		bpf_get_current_comm(init.comm, sizeof(init.comm));
		init.cgroup = bpf_get_current_cgroup_id();
		bpf_map_update_elem(&fragml_src, k, &init, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&fragml_src, k);
		if (!s)
			return NULL;
	}
	s->last_ts = now;
	return s;
}

/* The verifier forbids arithmetic on a trusted page pointer: copy it out as a number. */
static __always_inline __u64 fragml_page_key(struct page *page)
{
	__u64 key = 0;

	bpf_probe_read_kernel(&key, sizeof(key), &page);
	return key;
}

static __always_inline __u32 *fragml_filter_slot(__u64 page)
{
	__u32 i = (page >> (FRAGML_HPAGE_ORDER + 6)) & filter_mask;

	return bpf_map_lookup_elem(&fragml_track_filter, &i);
}

static __always_inline __u64 fragml_block_of(__u64 page)
{
	/* sizeof(struct page) is 64 on every 64-bit config fragml supports, and
	 * vmemmap is 1 GB aligned: 512 pages of struct page = 1 << 15 bytes. */
	return page >> (FRAGML_HPAGE_ORDER + 6);
}

/* A THP fault: an order-9 movable allocation inside a user fault. */
static __always_inline int fragml_on_thp_alloc(void *ctx, struct task_struct *task, __u32 tgid)
{
	struct fragml_task_state *t;
	struct fragml_src_key sk;
	struct fragml_src_val *src;
	__u64 fault_addr, now;

	fault_addr = fragml_fault_addr();
	if (!fault_addr)
		return 0;
	now = bpf_ktime_get_ns();
	t = fragml_task_get(tgid, now);
	fragml_note_alloc(t, 512, 1);
	sk.tgid = tgid;
	sk.cls = FRAGML_CLASS_ANON;
	src = fragml_src_get(&sk, task, now);
	if (src)
		src->thp_faults++;
#ifdef FRAGML_OBSERVE
	{
		struct fragml_vec *v = fragml_scratch_vec();

		if (v) {
			struct fragml_result res;

			fragml_thp_features(v, now, task, t, fault_addr);
			fragml_decide_observed(FRAGML_HOOK_THP_FAULT, v, &res);
		}
	}
#endif
#ifdef FRAGML_COLLECT
	{
		struct fragml_ev_thp *e = fragml_reserve(sizeof(*e));

		if (e) {
			e->h.type = FRAGML_EV_THP;
			e->h.tgid = tgid;
			e->h.ts = now;
			e->addr = fault_addr;
			bpf_ringbuf_submit(e, 0);
		}
	}
#endif
	return 0;
}

/*
 * One page allocation (tp_btf/mm_page_alloc or the extfrag fallback).
 * Movable allocations only feed THP detection (order 9) and calibration.
 * Unmovable and reclaimable ones are sampled: 1 in 2^track_sample_shift is
 * classed, counted for its source (scaled by 2^shift), decided (observe) and
 * tracked to its free; fallbacks (extfrag) always are.  Everything that is
 * not sampled returns before the first helper call: this program runs on
 * every page allocation of the machine (docs/performance.md).
 */
static __always_inline int fragml_on_alloc(void *ctx, struct page *page, unsigned int order,
					   __u32 gfp, int mt, int extfrag, int fallback_mt,
					   int change_owner)
{
	struct task_struct *task;
	__u64 now, id, pg;
	__u32 tgid, tid, scale = 1, rnd;
	int kthread, follow = 1;
	struct fragml_task_state *t = NULL;
	struct fragml_src_key sk;
	struct fragml_src_val *src;
	struct fragml_vec *v;
	__u64 fault_addr = 0;

	if (!extfrag && mt == MIGRATE_MOVABLE) {
		/* the hot path: an order-0 movable page outside calibration */
		if (order != FRAGML_HPAGE_ORDER && !calib_tgid)
			return 0;
		task = bpf_get_current_task_btf();
		if (fragml_is_kthread(task))
			return 0;
		tgid = task->tgid;
		if (calib_tgid && tgid == calib_tgid && order == 0)
			calib_page = fragml_page_key(page);
		if (order != FRAGML_HPAGE_ORDER || !fragml_task_wanted(task, tgid))
			return 0;
		return fragml_on_thp_alloc(ctx, task, tgid);
	}
	if (!extfrag && (track_sample_shift || live_sample_shift)) {
		rnd = bpf_get_prandom_u32();
		if (rnd & ((1U << (track_sample_shift & 15)) - 1))
			return 0;	/* not sampled */
		scale = 1U << (track_sample_shift & 15);
		follow = !((rnd >> 16) & ((1U << (live_sample_shift & 15)) - 1));
	}
	task = bpf_get_current_task_btf();
	now = bpf_ktime_get_ns();
	id = bpf_get_current_pid_tgid();
	tgid = id >> 32;
	tid = (__u32)id;
	kthread = fragml_is_kthread(task);
	if (kthread)
		tgid = 0;
	if ((filter_tgid || filter_memcg_ino) && !fragml_task_wanted(task, tgid))
		return 0;
	pg = fragml_page_key(page);
	if (!extfrag && want_ident) {
		/* the extfrag hook already tracked this page a moment ago */
		__u32 *slot = fragml_filter_slot(pg);
		struct fragml_live *old = slot && *slot ? bpf_map_lookup_elem(&fragml_live, &pg) : NULL;

		if (old && old->in_mixed_block && now - old->ts < 1000000)
			return 0;
	}
	if (mt == MIGRATE_MOVABLE)
		fault_addr = fragml_fault_addr();	/* a movable fallback: anon or page cache */
	if (!kthread) {
		t = fragml_task_get(tgid, now);
		fragml_note_alloc(t, scale << (order & 15), 0);
	}
	sk.tgid = tgid;
	sk.cls = fragml_alloc_class(ctx, mt, fault_addr, gfp, order);
	src = fragml_src_get(&sk, task, now);
	if (src) {
		src->pages += (__u64)scale << (order & 15);
		if (extfrag) {
			src->extfrag++;
			src->extfrag_claim += change_owner > 0;
		}
	}
	if (want_ident && sk.cls == FRAGML_CLASS_SLAB) {
		__u32 zero = 0;
		struct fragml_pending_slab *ps = bpf_map_lookup_elem(&fragml_pending_slab, &zero);

		if (ps) {
			ps->page = pg;
			ps->ts = now;
			ps->tid = tid;
			ps->tgid = tgid;
			ps->order = order;
		}
	}

	v = fragml_scratch_vec();
	if (!v)
		return 0;
	fragml_lifetime_features(v, now, t, order, gfp, mt, extfrag ? fallback_mt : FRAGML_MISSING,
				 extfrag ? change_owner : FRAGML_MISSING, sk.cls, kthread);
#ifdef FRAGML_OBSERVE
	{
		struct fragml_result res;

		if (fragml_decide(FRAGML_HOOK_LIFETIME, v, &res) >= 0 && src) {
			/* scaled like pages: estimates of all allocations' decisions */
			src->decided += scale;
			src->predicted_long += res.action == FRAGML_LIFETIME_LONG ? scale : 0;
		}
	}
#endif
	if (follow && want_live) {
		struct fragml_live lv = {
			.ts = now, .src = sk, .order = order, .alloc_mt = mt,
		};

		if (extfrag && want_ident) {
			__u64 blk = fragml_block_of(pg);
			struct fragml_block_val *b = bpf_map_lookup_elem(&fragml_blocks, &blk);

			if (!b) {
				struct fragml_block_val nb = {
					.src = sk, .alloc_mt = mt, .fallback_mt = fallback_mt,
					.claimed = change_owner > 0, .ts = now,
				};

				if (!bpf_map_update_elem(&fragml_blocks, &blk, &nb, BPF_NOEXIST) && src) {
					src->blocks_polluted++;
					if (mt != MIGRATE_MOVABLE)
						src->huge_blocked++;
				}
				b = bpf_map_lookup_elem(&fragml_blocks, &blk);
			}
			if (b && b->src.tgid == sk.tgid && b->src.cls == sk.cls) {
				__sync_fetch_and_add(&b->live, 1);
				lv.in_mixed_block = 1;
			}
		}
		if (!bpf_map_update_elem(&fragml_live, &pg, &lv, BPF_NOEXIST)) {
			__u32 *slot = fragml_filter_slot(pg);

			if (slot)
				__sync_fetch_and_add(slot, 1);
			fragml_stat(FRAGML_STAT_TRACKED);
		} else if (!bpf_map_update_elem(&fragml_live, &pg, &lv, BPF_EXIST)) {
			fragml_stat(FRAGML_STAT_TRACKED);	/* its free was missed: replaced */
		} else {
			fragml_stat(FRAGML_STAT_TRACK_FULL);
		}
	}
#ifdef FRAGML_COLLECT
	{
		struct fragml_ev_alloc *e = fragml_reserve(sizeof(*e));

		if (!e)
			return 0;
		e->h.type = FRAGML_EV_ALLOC;
		e->h.tgid = tgid;
		e->h.ts = now;
		e->page = pg;
		e->cgroup = bpf_get_current_cgroup_id();
		e->order = order;
		e->gfp = gfp;
		e->mt = mt;
		e->block_mt = extfrag ? fallback_mt : mt;
		e->cls = sk.cls;
		e->flags = (extfrag ? FRAGML_ALLOC_F_EXTFRAG : 0) | (kthread ? FRAGML_ALLOC_F_KTHREAD : 0);
		/* skip the program, bpf_trace_runN and __traceiter_* frames: 16 real ones */
		e->stack_id = want_stacks ? bpf_get_stackid(ctx, &fragml_stackmap,
							    3 & BPF_F_SKIP_FIELD_MASK) : -1;
		e->pad = 0;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		__builtin_memcpy(&e->v, v, sizeof(e->v));
		bpf_ringbuf_submit(e, 0);
	}
#endif
	return 0;
}

/* mm_page_free, attached as raw_tp so the page is a plain number (no helper). */
static __always_inline int fragml_on_free(__u64 pg)
{
	__u32 *slot = fragml_filter_slot(pg);
	struct fragml_live *lv;
	struct fragml_task_state *t;
	__u64 now;

	if (!want_live)
		return 0;
	if (!slot || !*slot)
		return 0;	/* the hot path: no tracked page in this pageblock slot */
	lv = bpf_map_lookup_elem(&fragml_live, &pg);
	if (!lv)
		return 0;
	now = bpf_ktime_get_ns();
	if (lv->src.tgid) {
		t = bpf_map_lookup_elem(&fragml_task_state, &lv->src.tgid);
		if (t) {
			if (now - lv->ts >= lifetime_T_ns)
				t->long_cnt++;
			else
				t->short_cnt++;
		}
	}
	if (want_ident && lv->in_mixed_block) {
		__u64 blk = fragml_block_of(pg);
		struct fragml_block_val *b = bpf_map_lookup_elem(&fragml_blocks, &blk);

		/* plain read-modify-write: a racing pair at worst leaves one stale block */
		if (b && b->live)
			b->live--;
		if (b && !b->live) {
			struct fragml_src_val *s = bpf_map_lookup_elem(&fragml_src, &b->src);

			if (s) {
				s->blocks_polluted--;
				if (b->alloc_mt != MIGRATE_MOVABLE)
					s->huge_blocked--;
			}
			bpf_map_delete_elem(&fragml_blocks, &blk);
		}
	}
	if (!bpf_map_delete_elem(&fragml_live, &pg) && *slot)
		__sync_fetch_and_add(slot, -1);	/* XADD: no fetch_sub before -mcpu=v3 */
#ifdef FRAGML_COLLECT
	{
		struct fragml_ev_free *e = fragml_reserve(sizeof(*e));

		if (e) {
			e->h.type = FRAGML_EV_FREE;
			e->h.tgid = 0;
			e->h.ts = now;
			e->page = pg;
			bpf_ringbuf_submit(e, 0);
		}
	}
#endif
	return 0;
}

/* A slab object was allocated: count it for its source (1 in 2^slab_sample_shift,
 * scaled); name a pending slab page.  Runs on every slab allocation of the
 * machine: the unsampled, not-pending case returns after an inlined per-CPU
 * lookup and one prandom call. */
static __always_inline int fragml_on_slab_obj(struct kmem_cache *s, __u32 kmalloc_size)
{
	__u64 id, now = 0;
	__u32 zero = 0, tgid;
	struct fragml_pending_slab *ps = bpf_map_lookup_elem(&fragml_pending_slab, &zero);
	int pending = 0;
	__u64 pend_page = 0;

	if (!want_ident)
		return 0;
	if (ps && ps->page) {
		id = bpf_get_current_pid_tgid();
		if (ps->tid == (__u32)id) {
			now = bpf_ktime_get_ns();
			pending = now - ps->ts < 1000000;	/* 1 ms: same allocation path */
			pend_page = ps->page;
			ps->page = 0;
		}
	}
	if (!pending && slab_sample_shift && ps) {
		__u32 x = ps->rng ? ps->rng : 0x9e3779b9;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		ps->rng = x;
		if (x & ((1U << (slab_sample_shift & 31)) - 1))
			return 0;
	}
	if (!pending && !s)
		return 0;
	id = bpf_get_current_pid_tgid();
	tgid = id >> 32;
#ifndef FRAGML_COLLECT
	(void)pend_page;
#endif
	if (fragml_is_kthread(bpf_get_current_task_btf()))
		tgid = 0;
	if (!pending && (filter_tgid || filter_memcg_ino) &&
	    !fragml_task_wanted(bpf_get_current_task_btf(), tgid))
		return 0;
	if (s) {
		struct fragml_slab_key k = { .tgid = tgid, .cache = (__u64)s };
		struct fragml_slab_val *sv = bpf_map_lookup_elem(&fragml_src_slab, &k);
		__u32 n = 1U << (slab_sample_shift & 31);

		if (!sv) {
			struct fragml_slab_val init = { .sample = n };

			bpf_probe_read_kernel_str(init.name, sizeof(init.name), BPF_CORE_READ(s, name));
			init.obj_size = BPF_CORE_READ(s, object_size);
			bpf_get_current_comm(init.comm, sizeof(init.comm));
			bpf_map_update_elem(&fragml_src_slab, &k, &init, BPF_NOEXIST);
			sv = bpf_map_lookup_elem(&fragml_src_slab, &k);
		}
		if (sv) {
			if (pending)
				sv->pages++;
			else {
				sv->objs += n;
				sv->bytes += (__u64)n * sv->obj_size;
			}
		}
	}
#ifdef FRAGML_COLLECT
	if (pending) {
		struct fragml_ev_slab *e = fragml_reserve(sizeof(*e));

		if (e) {
			e->h.type = FRAGML_EV_SLAB;
			e->h.tgid = tgid;
			e->h.ts = now;
			e->page = pend_page;
			e->name[0] = 0;
			if (s) {
				bpf_probe_read_kernel_str(e->name, sizeof(e->name), BPF_CORE_READ(s, name));
				e->obj_size = BPF_CORE_READ(s, object_size);
				e->flags = 0;
			} else {
				e->obj_size = kmalloc_size;
				e->flags = FRAGML_ALLOC_F_KMALLOC;
			}
			bpf_ringbuf_submit(e, 0);
		}
	}
#endif
	return 0;
}

static __always_inline int fragml_on_compaction_begin(void *ctx, struct compact_control *cc)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct fragml_vec *v = fragml_scratch_vec();

	if (!v)
		return 0;
	if ((filter_tgid || filter_memcg_ino) &&
	    !fragml_task_wanted(bpf_get_current_task_btf(),
				fragml_is_kthread(bpf_get_current_task_btf()) ? 0 :
				bpf_get_current_pid_tgid() >> 32))
		return 0;
	fragml_compaction_features(v, now, cc, fragml_is_kthread(bpf_get_current_task_btf()));
#ifdef FRAGML_OBSERVE
	{
		struct fragml_result res;

		/* the compiled form counts as the hook's decision: not for a shadow */
		if (fragml_shadowed(FRAGML_HOOK_COMPACTION))
			fragml_decide_observed(FRAGML_HOOK_COMPACTION, v, &res);
		else
			fragml_decide_via(fragml_tc_compact(ctx), FRAGML_HOOK_COMPACTION, v, &res);
	}
#endif
#ifdef FRAGML_COLLECT
	{
		struct fragml_compact_run init = {}, *run;

		bpf_map_update_elem(&fragml_compact_runs, &tid, &init, BPF_ANY);
		run = bpf_map_lookup_elem(&fragml_compact_runs, &tid);
		if (!run)
			return 0;
		run->t0 = now;
		__builtin_memcpy(&run->v, v, sizeof(run->v));
	}
#else
	(void)tid;
#endif
	return 0;
}

static __always_inline int fragml_on_compaction_end(struct compact_control *cc, int status)
{
	__u64 now = bpf_ktime_get_ns();
	int success = status == bpf_core_enum_value(enum compact_result, COMPACT_SUCCESS);

	fragml_note_compaction(now, success);
	fragml_stat(FRAGML_STAT_COMPACT);
#ifdef FRAGML_COLLECT
	{
		__u64 id = bpf_get_current_pid_tgid();
		__u32 tid = (__u32)id;
		struct fragml_compact_run *run = bpf_map_lookup_elem(&fragml_compact_runs, &tid);
		struct fragml_ev_compact *e;
		struct fragml_zone_info zi;
		struct zone *z = BPF_CORE_READ(cc, zone);

		if (!run)
			return 0;
		e = fragml_reserve(sizeof(*e));
		if (e) {
			e->h.type = FRAGML_EV_COMPACT;
			e->h.tgid = id >> 32;
			e->h.ts = now;
			e->t0 = run->t0;
			e->status = status;
			e->success = success;
			e->free_huge_after = fragml_zone_read(z, &zi) ? -1 : fragml_cap(fragml_free_huge(&zi));
			e->kthread = fragml_is_kthread(bpf_get_current_task_btf());
			bpf_probe_read_kernel_str(e->zone, sizeof(e->zone), BPF_CORE_READ(z, name));
			bpf_get_current_comm(e->comm, sizeof(e->comm));
			__builtin_memcpy(&e->v, &run->v, sizeof(e->v));
			bpf_ringbuf_submit(e, 0);
		}
		bpf_map_delete_elem(&fragml_compact_runs, &tid);
	}
#endif
	return 0;
}

#endif /* FRAGML_TRACK_BPF_H */
