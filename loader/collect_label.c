// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Collection stage: the collector's ring-buffer records matched (allocation to
 * free, fault to 2 MB region) and labelled into the three datasets
 * (docs/dataset.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect_internal.h"

void collect_make_source(char *dst, size_t cap, uint32_t tgid, const char *comm, uint32_t flags,
			 const char *slab)
{
	if (slab && *slab)
		snprintf(dst, cap, "slab:%s:%s:%u", slab, comm, tgid);
	else if (flags & FRAGML_ALLOC_F_KTHREAD || !tgid)
		snprintf(dst, cap, "kthread:%s", comm);
	else
		snprintf(dst, cap, "%s:%u", comm, tgid);
}

static uint64_t pfn_of(const struct fragml_collector *c, uint64_t page)
{
	return c->vmemmap_base && page >= c->vmemmap_base ? (page - c->vmemmap_base) / 64 : 0;
}

/* A need moment (docs/dataset.md, pollutes): kept sorted; records of other
 * CPUs may arrive slightly out of order. */
static void need_note(struct fragml_collector *c, uint64_t ts)
{
	size_t i;

	if (c->n_needs == c->cap_needs) {
		size_t nc = c->cap_needs ? c->cap_needs * 2 : 1024;
		uint64_t *nn = realloc(c->needs, nc * sizeof(*nn));

		if (!nn)
			return;	/* a need moment less: the label errs towards 0 */
		c->needs = nn;
		c->cap_needs = nc;
	}
	for (i = c->n_needs; i > 0 && c->needs[i - 1] > ts; i--)
		c->needs[i] = c->needs[i - 1];
	c->needs[i] = ts;
	c->n_needs++;
	c->st.needs++;
}

/* Was there a need moment in [from, to]? */
static int need_between(const struct fragml_collector *c, uint64_t from, uint64_t to)
{
	size_t lo = 0, hi = c->n_needs;

	while (lo < hi) {	/* first moment >= from */
		size_t mid = (lo + hi) / 2;

		if (c->needs[mid] < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->n_needs && c->needs[lo] <= to;
}

/* Write the lifetime row of a tracked allocation that ended (freed) or is
 * still allocated at `end` (the end of the collection). */
static void emit_lifetime(struct fragml_collector *c, const struct alloc_rec *a, uint64_t end,
			  int freed)
{
	char src[128], extra[160], life[24] = "", site[20] = "", lclass[4] = "";
	const char *cls = fragml_class_name(a->cls);
	uint64_t life_ns = end - a->ts;
	unsigned int label = !freed || life_ns >= (uint64_t)(c->o.lifetime_T_s * 1e9);
	int pollutes = a->mixing && a->mt != FRAGML_MT_MOVABLE && need_between(c, a->ts, end);

	collect_make_source(src, sizeof(src), a->tgid, a->comm, a->flags, a->slab);
	if (freed) {
		snprintf(life, sizeof(life), "%llu", (unsigned long long)(life_ns / 1000000));
		snprintf(lclass, sizeof(lclass), "%d", life_ns < 1000000000ull ? 0 :
			 life_ns < 60000000000ull ? 1 : 2);
	} else if (life_ns >= 60000000000ull) {
		snprintf(lclass, sizeof(lclass), "2");	/* else censored: empty */
	}
	if (a->site)
		snprintf(site, sizeof(site), "%016llx", (unsigned long long)a->site);
	snprintf(extra, sizeof(extra), "%d,%s,%llu,%s,%s,%d", a->block_mt, life,
		 (unsigned long long)pfn_of(c, a->page), site, lclass, pollutes);
	if (fragml_csv_row(&c->csv[FRAGML_HOOK_LIFETIME], a->ts, FRAGML_HOOK_LIFETIME,
			   cls ? cls : "kernel", src, a->f, label, extra, c->err))
		c->failed = 1;
	c->st.rows[FRAGML_HOOK_LIFETIME]++;
}

static void alloc_release(struct fragml_collector *c, uint32_t idx)
{
	c->allocs[idx].live = 0;
	c->free_slots[c->n_free_slots++] = idx;
}

static int stack_note(struct fragml_collector *c, const struct fragml_ev_alloc *e)
{
	uint64_t key = 1ULL << 63 | (uint64_t)e->h.tgid << 32 | (uint64_t)(e->cls & 0xff) << 24 |
		       ((uint32_t)e->stack_id & 0xffffff);
	int64_t idx = u64map_get(&c->stacks_by_key, key);
	struct stack_agg *a;

	if (idx >= 0) {
		c->stacks[idx].count++;
		return 0;
	}
	if (c->n_stacks == c->cap_stacks) {
		size_t nc = c->cap_stacks ? c->cap_stacks * 2 : 1024;
		struct stack_agg *ns = realloc(c->stacks, nc * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		c->stacks = ns;
		c->cap_stacks = nc;
	}
	a = &c->stacks[c->n_stacks];
	a->tgid = e->h.tgid;
	a->cls = e->cls;
	a->flags = e->flags;
	a->stack_id = e->stack_id;
	a->count = 1;
	memcpy(a->comm, e->comm, sizeof(a->comm));
	a->comm[sizeof(a->comm) - 1] = 0;
	return u64map_put(&c->stacks_by_key, key, (uint32_t)c->n_stacks++);
}

static int on_alloc(struct fragml_collector *c, const struct fragml_ev_alloc *e)
{
	int64_t old = u64map_get(&c->allocs_by_page, e->page);
	uint32_t idx;
	struct alloc_rec *a;
	int mixing = 0;

	c->st.allocs++;
	if (e->flags & FRAGML_ALLOC_F_EXTFRAG)
		c->st.extfrag++;
	if (e->stack_id >= 0 && stack_note(c, e))
		return -ENOMEM;
	if (old >= 0) {
		/* no free seen in between (lost record or untracked path): drop the
		 * old one.  A fallback that refilled a per-CPU list is seen at the
		 * refill, the page's own allocation later: it keeps its block. */
		mixing = c->allocs[old].mixing && !(e->flags & FRAGML_ALLOC_F_EXTFRAG);
		alloc_release(c, (uint32_t)old);
		u64map_del(&c->allocs_by_page, e->page);
	}
	if (c->n_free_slots) {
		idx = c->free_slots[--c->n_free_slots];
	} else {
		if (c->n_allocs == c->cap_allocs) {
			size_t nc = c->cap_allocs ? c->cap_allocs * 2 : 65536;
			struct alloc_rec *na = realloc(c->allocs, nc * sizeof(*na));
			uint32_t *nf = realloc(c->free_slots, nc * sizeof(*nf));

			if (!na || !nf) {
				free(na == c->allocs ? NULL : na);
				return -ENOMEM;
			}
			c->allocs = na;
			c->free_slots = nf;
			c->cap_allocs = nc;
		}
		idx = c->n_allocs++;
	}
	a = &c->allocs[idx];
	memset(a, 0, sizeof(*a));
	a->ts = e->h.ts;
	a->page = e->page;
	a->tgid = e->h.tgid;
	a->order = e->order;
	a->cls = e->cls;
	a->flags = e->flags;
	a->block_mt = e->block_mt;
	a->mt = e->mt;
	a->site = e->site;
	/* from a movable pageblock that the fallback did not take whole */
	a->mixing = mixing || (e->flags & FRAGML_ALLOC_F_EXTFRAG && e->block_mt == FRAGML_MT_MOVABLE &&
			       e->v.f[FRAGML_F_CHANGE_OWNER] != 1);
	a->live = 1;
	memcpy(a->comm, e->comm, sizeof(a->comm));
	a->comm[sizeof(a->comm) - 1] = 0;
	memcpy(a->f, e->v.f, sizeof(a->f));
	return u64map_put(&c->allocs_by_page, e->page, idx);
}

static void on_free(struct fragml_collector *c, const struct fragml_ev_free *e)
{
	int64_t idx = u64map_get(&c->allocs_by_page, e->page);

	if (idx < 0)
		return;
	c->st.frees_matched++;
	emit_lifetime(c, &c->allocs[idx], e->h.ts, 1);
	u64map_del(&c->allocs_by_page, e->page);
	alloc_release(c, (uint32_t)idx);
}

static void on_slab(struct fragml_collector *c, const struct fragml_ev_slab *e)
{
	int64_t idx = u64map_get(&c->allocs_by_page, e->page);
	struct alloc_rec *a;

	if (idx < 0)
		return;
	a = &c->allocs[idx];
	if (e->flags & FRAGML_ALLOC_F_KMALLOC)
		snprintf(a->slab, sizeof(a->slab), "kmalloc-%u", e->obj_size);
	else
		snprintf(a->slab, sizeof(a->slab), "%.31s", e->name);
	/* slab_obj_log2 stays missing, as in the kernel: it cannot know the cache
	 * at the page allocation (docs/dataset.md) */
	c->st.slab_named++;
}

static struct region_rec *region_get(struct fragml_collector *c, uint32_t tgid, uint64_t addr,
				     uint64_t ts)
{
	uint64_t region = addr & ~((1ULL << 21) - 1);
	uint64_t key = ((uint64_t)tgid << 40) ^ (region >> 21) ^ (1ULL << 63);
	int64_t idx = u64map_get(&c->regions_by_key, key);
	struct region_rec *r;

	if (idx >= 0 && !c->regions[idx].dead)
		return &c->regions[idx];
	if (c->n_regions == c->cap_regions) {
		size_t nc = c->cap_regions ? c->cap_regions * 2 : 16384;
		struct region_rec *nr = realloc(c->regions, nc * sizeof(*nr));

		if (!nr)
			return NULL;
		c->regions = nr;
		c->cap_regions = nc;
	}
	r = &c->regions[c->n_regions];
	memset(r, 0, sizeof(*r));
	r->first_ts = ts;
	r->region = region;
	r->tgid = tgid;
	for (int i = 0; i < FRAGML_MAX_FEATURES; i++)
		r->f[i] = FRAGML_MISSING;
	if (u64map_put(&c->regions_by_key, key, (uint32_t)c->n_regions))
		return NULL;
	{
		uint64_t tkey = 1ULL << 63 | tgid;
		int64_t head = u64map_get(&c->live_regions_by_tgid, tkey);

		r->next_live = head >= 0 ? (uint32_t)head + 1 : 0;
		if (u64map_put(&c->live_regions_by_tgid, tkey, (uint32_t)c->n_regions))
			return NULL;
	}
	c->n_regions++;
	c->st.regions++;
	return r;
}

static void on_fault(struct fragml_collector *c, const struct fragml_ev_fault *e)
{
	struct region_rec *r = region_get(c, e->h.tgid, e->addr, e->h.ts);
	unsigned int sub = (e->addr >> 12) & 511;

	c->st.faults++;
	if (!r)
		return;
	if (!(r->bits[sub / 64] & (1ULL << (sub % 64)))) {
		r->bits[sub / 64] |= 1ULL << (sub % 64);
		r->touched++;
	}
}

static void on_region(struct fragml_collector *c, const struct fragml_ev_region *e)
{
	struct region_rec *r = region_get(c, e->h.tgid, e->region, e->h.ts);

	if (!r || r->has_vec)
		return;
	r->has_vec = 1;
	r->first_ts = e->h.ts;
	memcpy(r->comm, e->comm, sizeof(r->comm));
	r->comm[sizeof(r->comm) - 1] = 0;
	memcpy(r->f, e->v.f, sizeof(r->f));
}

static void on_thp(struct fragml_collector *c, const struct fragml_ev_thp *e)
{
	struct region_rec *r = region_get(c, e->h.tgid, e->addr, e->h.ts);

	if (r)
		r->huge = 1;
}

/* The process's live regions end: those made since its last exit record
 * (a reused tgid starts a new chain). */
static void on_exit_ev(struct fragml_collector *c, const struct fragml_ev_hdr *e)
{
	uint64_t tkey = 1ULL << 63 | e->tgid;
	int64_t i = u64map_get(&c->live_regions_by_tgid, tkey);

	if (i < 0)
		return;
	u64map_del(&c->live_regions_by_tgid, tkey);
	for (; i >= 0; i = (int64_t)c->regions[i].next_live - 1) {
		c->regions[i].dead = 1;
		c->regions[i].end_ts = e->ts;
	}
}

static const char *compact_status_name(int s)
{
	/* enum compact_result of 6.12 and 6.18 (same numbering) */
	static const char *const n[] = { "not_suitable_zone", "skipped", "deferred",
		"no_suitable_page", "continue", "complete", "partial_skipped", "contended",
		"success" };

	return s >= 0 && s < (int)(sizeof(n) / sizeof(n[0])) ? n[s] : "unknown";
}

static void on_compact(struct fragml_collector *c, const struct fragml_ev_compact *e)
{
	char src[64], zone[17], extra[96];
	int before = e->v.f[FRAGML_F_FREE_HUGE_BLOCKS];
	unsigned int label = e->success ||
		(e->v.f[FRAGML_F_ORDER] < 0 && before != FRAGML_MISSING && e->free_huge_after > before);

	c->st.compactions++;
	if (!label && (e->v.f[FRAGML_F_ORDER] >= 9 || e->v.f[FRAGML_F_ORDER] == -1))
		need_note(c, e->h.ts);	/* failed to make a free 2 MB block */
	memcpy(zone, e->zone, 16);
	zone[16] = 0;
	if (e->kthread)
		snprintf(src, sizeof(src), "kthread:%.16s", e->comm);
	else
		snprintf(src, sizeof(src), "%.16s:%u", e->comm, e->h.tgid);
	snprintf(extra, sizeof(extra), "%s,%llu,%d", compact_status_name(e->status),
		 (unsigned long long)((e->h.ts - e->t0) / 1000), e->free_huge_after);
	if (fragml_csv_row(&c->csv[FRAGML_HOOK_COMPACTION], e->t0, FRAGML_HOOK_COMPACTION, zone, src,
			   e->v.f, label, extra, c->err))
		c->failed = 1;
	c->st.rows[FRAGML_HOOK_COMPACTION]++;
}

int collect_on_event(void *ctx, void *data, size_t len)
{
	struct fragml_collector *c = ctx;
	const struct fragml_ev_hdr *h = data;

	if (len < sizeof(*h))
		return 0;
	c->st.events++;
	switch (h->type) {
	case FRAGML_EV_ALLOC:
		if (len >= sizeof(struct fragml_ev_alloc) && on_alloc(c, data))
			return -ENOMEM;
		break;
	case FRAGML_EV_FREE:
		on_free(c, data);
		break;
	case FRAGML_EV_SLAB:
		on_slab(c, data);
		break;
	case FRAGML_EV_FAULT:
		on_fault(c, data);
		break;
	case FRAGML_EV_REGION:
		on_region(c, data);
		break;
	case FRAGML_EV_THP:
		on_thp(c, data);
		break;
	case FRAGML_EV_EXIT:
		on_exit_ev(c, data);
		break;
	case FRAGML_EV_COMPACT:
		on_compact(c, data);
		break;
	case FRAGML_EV_NEED:
		if (len >= sizeof(struct fragml_ev_need) &&
		    (((const struct fragml_ev_need *)data)->kind == FRAGML_NEED_THP_FALLBACK ||
		     ((const struct fragml_ev_need *)data)->order >= 9))
			need_note(c, h->ts);
		break;
	}
	return 0;
}

void collect_finish_regions(struct fragml_collector *c, uint64_t end)
{
	uint64_t min_life = (uint64_t)(c->o.thp_min_life_s * 1e9);

	for (size_t i = 0; i < c->n_regions; i++) {
		struct region_rec *r = &c->regions[i];
		uint64_t stop = r->dead ? r->end_ts : end, life = stop - r->first_ts;
		unsigned int label;
		char src[64], extra[64];

		if (!r->has_vec)
			continue;	/* its REGION record was lost: no features */
		label = life >= min_life &&
			(r->huge || r->touched * 1024 >= c->o.thp_dense_ppk * 512u);
		snprintf(src, sizeof(src), "%.16s:%u", r->comm, r->tgid);
		snprintf(extra, sizeof(extra), "%u,%llu,%d", r->touched,
			 (unsigned long long)(life / 1000000), r->huge);
		if (fragml_csv_row(&c->csv[FRAGML_HOOK_THP_FAULT], r->first_ts, FRAGML_HOOK_THP_FAULT,
				   "anon", src, r->f, label, extra, c->err))
			c->failed = 1;
		c->st.rows[FRAGML_HOOK_THP_FAULT]++;
	}
}

void collect_finish_allocs(struct fragml_collector *c, uint64_t end)
{
	uint64_t T = (uint64_t)(c->o.lifetime_T_s * 1e9);

	for (size_t i = 0; i < c->n_allocs; i++) {
		struct alloc_rec *a = &c->allocs[i];

		if (!a->live)
			continue;
		if (end - a->ts >= T)
			emit_lifetime(c, a, end, 0);
		else
			c->st.censored++;
	}
}
