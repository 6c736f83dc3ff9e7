// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Collection stage: load bpf/fragml_collect.bpf.c, consume its ring buffer,
 * match allocations to frees, label, and write the three datasets
 * (docs/dataset.md).  Lost records are counted by the BPF side and always
 * reported in the stats, the progress line and summary.json.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fragml_collect.h"
#include "fragml_identify.h"
#include "fragml_load.h"
#include "fragml_collect.skel.h"
#include "fragml_collect_events.h"

/* ---- a small open-addressing hash: u64 key -> index into a record array ---- */
struct u64map {
	uint64_t *keys;		/* 0 = empty, UINT64_MAX = deleted */
	uint32_t *vals;
	size_t cap, used;
};

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}

static int u64map_init(struct u64map *m, size_t cap)
{
	m->cap = cap;
	m->used = 0;
	m->keys = calloc(cap, sizeof(*m->keys));
	m->vals = calloc(cap, sizeof(*m->vals));
	return m->keys && m->vals ? 0 : -ENOMEM;
}

static void u64map_free(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
}

static int64_t u64map_get(const struct u64map *m, uint64_t k)
{
	for (size_t i = mix(k) & (m->cap - 1), n = 0; n < m->cap; i = (i + 1) & (m->cap - 1), n++) {
		if (!m->keys[i])
			return -1;
		if (m->keys[i] == k)
			return m->vals[i];
	}
	return -1;
}

static int u64map_grow(struct u64map *m);

static int u64map_put(struct u64map *m, uint64_t k, uint32_t v)
{
	size_t i;

	if ((m->used + 1) * 4 > m->cap * 3 && u64map_grow(m))
		return -ENOMEM;
	for (i = mix(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->keys[i] || m->keys[i] == UINT64_MAX || m->keys[i] == k)
			break;
	}
	if (!m->keys[i])
		m->used++;
	m->keys[i] = k;
	m->vals[i] = v;
	return 0;
}

static void u64map_del(struct u64map *m, uint64_t k)
{
	for (size_t i = mix(k) & (m->cap - 1), n = 0; n < m->cap; i = (i + 1) & (m->cap - 1), n++) {
		if (!m->keys[i])
			return;
		if (m->keys[i] == k) {
			m->keys[i] = UINT64_MAX;	/* tombstone: counted in used until a rehash */
			return;
		}
	}
}

static int u64map_grow(struct u64map *m)
{
	struct u64map n;

	if (u64map_init(&n, m->cap * 2))
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i] && m->keys[i] != UINT64_MAX)
			u64map_put(&n, m->keys[i], m->vals[i]);
	u64map_free(m);
	*m = n;
	return 0;
}

/* ---- records ---- */
struct alloc_rec {
	uint64_t ts, page;
	uint32_t tgid, order, cls, flags;
	int32_t block_mt;
	int live;
	char comm[16];
	char slab[32];
	int32_t f[FRAGML_MAX_FEATURES];
};

/* Allocations per (tgid, class, kernel stack id), for --stacks. */
struct stack_agg {
	uint32_t tgid, cls, flags;
	int32_t stack_id;
	uint64_t count;
	char comm[16];
};

struct region_rec {
	uint64_t first_ts, end_ts, region;
	uint32_t tgid, touched;
	int has_vec, huge, dead;
	uint64_t bits[8];
	char comm[16];
	int32_t f[FRAGML_MAX_FEATURES];
};

struct fragml_collector {
	struct fragml_collect_opts o;
	struct fragml_collect *skel;
	struct ring_buffer *rb;
	struct fragml_csv csv[FRAGML_NR_HOOKS];
	struct u64map allocs_by_page, regions_by_key, stacks_by_key;
	struct stack_agg *stacks;
	size_t n_stacks, cap_stacks;
	struct alloc_rec *allocs;
	size_t n_allocs, cap_allocs;
	uint32_t *free_slots;
	size_t n_free_slots;
	struct region_rec *regions;
	size_t n_regions, cap_regions;
	struct fragml_collect_stats st;
	struct fragml_err *err;	/* of the running call */
	int failed;
	uint64_t vmemmap_base;
	uint64_t t_start;
	volatile sig_atomic_t stop;
	struct fragml_snapshot before, after;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void fragml_collect_opts_default(struct fragml_collect_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->outdir = ".";
	o->workload = "unnamed";
	o->sample = 1;
	o->lifetime_T_s = 10;
	o->thp_min_life_s = 1;
	o->thp_dense_ppk = 768;
	o->ringbuf_kb = 0;	/* sized to RAM */
	o->stacks_top = 5;
}

static void progress(struct fragml_collector *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void progress(struct fragml_collector *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!c->o.progress)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->o.progress(line, c->o.progress_ctx);
}

static void make_source(char *dst, size_t cap, uint32_t tgid, const char *comm, uint32_t flags,
			const char *slab)
{
	if (slab && *slab)
		snprintf(dst, cap, "slab:%s:%s:%u", slab, comm, tgid);
	else if (flags & FRAGML_EVF_KTHREAD || !tgid)
		snprintf(dst, cap, "kthread:%s", comm);
	else
		snprintf(dst, cap, "%s:%u", comm, tgid);
}

static uint64_t pfn_of(const struct fragml_collector *c, uint64_t page)
{
	return c->vmemmap_base && page >= c->vmemmap_base ? (page - c->vmemmap_base) / 64 : 0;
}

/* Write the lifetime row of a tracked allocation; life_ns = 0: still allocated. */
static void emit_lifetime(struct fragml_collector *c, const struct alloc_rec *a, uint64_t life_ns,
			  int freed)
{
	char src[128], extra[96];
	const char *cls = fragml_alloc_class_name(a->cls);
	unsigned int label = !freed || life_ns >= (uint64_t)(c->o.lifetime_T_s * 1e9);

	make_source(src, sizeof(src), a->tgid, a->comm, a->flags, a->slab);
	if (freed)
		snprintf(extra, sizeof(extra), "%d,%llu,%llu", a->block_mt,
			 (unsigned long long)(life_ns / 1000000), (unsigned long long)pfn_of(c, a->page));
	else
		snprintf(extra, sizeof(extra), "%d,,%llu", a->block_mt,
			 (unsigned long long)pfn_of(c, a->page));
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
	a->comm[15] = 0;
	return u64map_put(&c->stacks_by_key, key, (uint32_t)c->n_stacks++);
}

static int on_alloc(struct fragml_collector *c, const struct fragml_ev_alloc *e)
{
	int64_t old = u64map_get(&c->allocs_by_page, e->page);
	uint32_t idx;
	struct alloc_rec *a;

	c->st.allocs++;
	if (e->flags & FRAGML_EVF_EXTFRAG)
		c->st.extfrag++;
	if (e->stack_id >= 0 && stack_note(c, e))
		return -ENOMEM;
	if (old >= 0) {
		/* no free seen in between (lost record or untracked path): drop the old one */
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
	a->live = 1;
	memcpy(a->comm, e->comm, sizeof(a->comm));
	a->comm[15] = 0;
	memcpy(a->f, e->v.f, sizeof(a->f));
	return u64map_put(&c->allocs_by_page, e->page, idx);
}

static void on_free(struct fragml_collector *c, const struct fragml_ev_free *e)
{
	int64_t idx = u64map_get(&c->allocs_by_page, e->page);

	if (idx < 0)
		return;
	c->st.frees_matched++;
	emit_lifetime(c, &c->allocs[idx], e->h.ts - c->allocs[idx].ts, 1);
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
	if (e->flags & FRAGML_EVF_KMALLOC)
		snprintf(a->slab, sizeof(a->slab), "kmalloc-%u", e->obj_size);
	else
		snprintf(a->slab, sizeof(a->slab), "%.31s", e->name);
	if (a->f[FRAGML_F_SLAB_OBJ_LOG2] == FRAGML_MISSING && e->obj_size) {
		int l = 0;

		while ((1u << (l + 1)) <= e->obj_size)
			l++;
		/* only the dataset gets it: the kernel cannot know the cache at the page allocation */
		(void)l;
	}
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
	r->comm[15] = 0;
	memcpy(r->f, e->v.f, sizeof(r->f));
}

static void on_thp(struct fragml_collector *c, const struct fragml_ev_thp *e)
{
	struct region_rec *r = region_get(c, e->h.tgid, e->addr, e->h.ts);

	if (r)
		r->huge = 1;
}

static void on_exit_ev(struct fragml_collector *c, const struct fragml_ev_hdr *e)
{
	for (size_t i = 0; i < c->n_regions; i++)
		if (c->regions[i].tgid == e->tgid && !c->regions[i].dead) {
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

static int on_event(void *ctx, void *data, size_t len)
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
	}
	return 0;
}

static uint64_t stat_sum(struct fragml_collector *c, __u32 idx)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 vals[ncpu > 0 ? ncpu : 1];
	uint64_t s = 0;

	if (ncpu <= 0 || bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.fragml_stats), &idx, vals))
		return 0;
	for (int i = 0; i < ncpu; i++)
		s += vals[i];
	return s;
}

/* vmemmap base (struct page * of pfn 0), for pfns in the CSV and block scans:
 * fault one page of our own, read its pfn from /proc/self/pagemap and the
 * struct page pointer the mm_page_alloc program saw. */
static void calibrate_vmemmap(struct fragml_collector *c)
{
	long psz = sysconf(_SC_PAGESIZE);
	volatile char *p;
	uint64_t ent = 0;
	int fd;

	c->skel->bss->calib_page = 0;
	c->skel->bss->calib_tgid = getpid();
	p = mmap(NULL, psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		goto out;
	p[0] = 1;
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd >= 0) {
		if (pread(fd, &ent, 8, ((uintptr_t)p / psz) * 8) == 8 && (ent >> 63) &&
		    (ent & ((1ULL << 55) - 1)) && c->skel->bss->calib_page)
			c->vmemmap_base = c->skel->bss->calib_page - (ent & ((1ULL << 55) - 1)) * 64;
		close(fd);
	}
	munmap((void *)p, psz);
out:
	c->skel->bss->calib_tgid = 0;
}

static int silent(enum libbpf_print_level l, const char *f, va_list ap)
{
	if (l == LIBBPF_WARN && getenv("FRAGML_DEBUG"))
		return vfprintf(stderr, f, ap);
	return 0;
}

int fragml_collect_open(struct fragml_collector **cp, const struct fragml_collect_opts *o,
			struct fragml_err *err)
{
	struct fragml_collector *c = calloc(1, sizeof(*c));
	struct fragml_track_sizes ts;
	unsigned int mounted = 0, rb;
	struct bpf_map *m;
	char path[512];
	int ret, nsites;

	unsigned int sample = o->sample ? o->sample : 1;

	/* every sampled unmovable/reclaimable page is followed: room for 1/16 of
	 * RAM (at most 1 GB) of them, allocated as they come */
	fragml_track_sizes(fragml_ram_pages(), (int64_t)(fragml_ram_pages() / 16 / sample), &ts);
	if (ts.live > 262144)
		ts.live = 262144;
	if (ts.live < 4096)
		ts.live = 4096;
	rb = o->ringbuf_kb ? o->ringbuf_kb : ts.ringbuf / 1024;

	if ((sample & (sample - 1)) || sample > (1u << 20)) {
		free(c);
		return fragml_err_set(err, -EINVAL, "--sample %u: must be a power of two 1..1048576",
				      sample);
	}
	if (rb & (rb - 1) || rb < 64) {
		free(c);
		return fragml_err_set(err, -EINVAL, "--ringbuf %u KiB: must be a power of two >= 64", rb);
	}
	if (!c)
		return fragml_err_set(err, -ENOMEM, "collector: out of memory");
	c->o = *o;
	c->o.sample = sample;
	libbpf_set_print(silent);
	ret = fragml_mount_fs(FRAGML_MNT_DEBUGFS | FRAGML_MNT_TRACEFS, &mounted, err);
	if (ret)
		goto fail;
	if (mounted & FRAGML_MNT_DEBUGFS)
		progress(c, "mounted debugfs on /sys/kernel/debug (it was not mounted)");
	if (mounted & FRAGML_MNT_TRACEFS)
		progress(c, "mounted tracefs on /sys/kernel/tracing (it was not mounted)");
	if (u64map_init(&c->allocs_by_page, 1 << 18) || u64map_init(&c->regions_by_key, 1 << 16) ||
	    u64map_init(&c->stacks_by_key, 1 << 12)) {
		ret = fragml_err_set(err, -ENOMEM, "collector: out of memory");
		goto fail;
	}
	c->skel = fragml_collect__open();
	if (!c->skel) {
		ret = fragml_err_set(err, -errno, "fragml_collect: open failed: %s", strerror(errno));
		goto fail;
	}
	/* the shared model maps come with fragml_maps.bpf.h: private here, never pinned */
	bpf_object__for_each_map(m, c->skel->obj)
		bpf_map__set_pin_path(m, NULL);
	c->skel->rodata->track_sample_shift = __builtin_ctz(c->o.sample);
	c->skel->rodata->slab_sample_shift = 0;
	c->skel->rodata->live_sample_shift = 0;	/* every sampled allocation gets a lifetime row */
	c->skel->rodata->lifetime_T_ns = (uint64_t)(c->o.lifetime_T_s * 1e9);
	c->skel->rodata->want_stacks = c->o.stacks;
	/* sized to the machine; the stack map only with --stacks */
	c->skel->rodata->filter_mask = ts.filter_slots - 1;
	bpf_map__set_max_entries(c->skel->maps.fragml_live, ts.live);
	bpf_map__set_max_entries(c->skel->maps.fragml_track_filter, ts.filter_slots);
	bpf_map__set_max_entries(c->skel->maps.fragml_blocks, ts.blocks);
	bpf_map__set_max_entries(c->skel->maps.fragml_task_state, ts.tasks);
	bpf_map__set_max_entries(c->skel->maps.fragml_src, ts.sources);
	bpf_map__set_max_entries(c->skel->maps.fragml_src_slab, ts.slab_sources);
	bpf_map__set_max_entries(c->skel->maps.fragml_regions, ts.regions);
	bpf_map__set_autocreate(c->skel->maps.fragml_stackmap, c->o.stacks);
	if (c->o.target_tgid) {
		if (kill((pid_t)c->o.target_tgid, 0) && errno == ESRCH) {
			ret = fragml_err_set(err, -ESRCH, "--pid %u: no such process", c->o.target_tgid);
			goto fail;
		}
		c->skel->rodata->filter_tgid = c->o.target_tgid;
	}
	if (c->o.cgroup) {
		struct statfs sf;
		struct stat sb;

		if (stat(c->o.cgroup, &sb) || !S_ISDIR(sb.st_mode) || statfs(c->o.cgroup, &sf) ||
		    (sf.f_type != CGROUP_SUPER_MAGIC && sf.f_type != CGROUP2_SUPER_MAGIC)) {
			ret = fragml_err_set(err, -EINVAL,
				"--cgroup %s: not a cgroup directory (give one of the memory controller's: /sys/fs/cgroup/memory/... on cgroup v1, /sys/fs/cgroup/... on v2)",
				c->o.cgroup);
			goto fail;
		}
		c->skel->rodata->filter_memcg_ino = sb.st_ino;
	}
	bpf_map__set_max_entries(c->skel->maps.fragml_events, rb * 1024);
	ret = fragml_collect__load(c->skel);
	if (ret) {
		ret = fragml_err_set(err, ret,
			"fragml_collect: the kernel refused the programs (%s): needs BTF, tp_btf and the kmem/compaction/exceptions tracepoints; FRAGML_DEBUG=1 shows the verifier log",
			strerror(-ret));
		goto fail;
	}
	nsites = fragml_sites_fill(bpf_map__fd(c->skel->maps.fragml_sites), err);
	if (nsites < 0) {
		ret = nsites;
		goto fail;
	}
	progress(c, "call-site table: %d allocation sites resolved from /proc/kallsyms", nsites);
	if (c->o.target_tgid || c->o.cgroup) {
		char who[400] = "";

		if (c->o.target_tgid)
			snprintf(who, sizeof(who), "process %u%s", c->o.target_tgid, c->o.cgroup ? " in " : "");
		if (c->o.cgroup)
			snprintf(who + strlen(who), sizeof(who) - strlen(who), "cgroup %s", c->o.cgroup);
		progress(c, "following only %s (fallback and compaction rates stay system-wide)", who);
	}
	ret = fragml_collect__attach(c->skel);
	if (ret) {
		ret = fragml_err_set(err, ret, "fragml_collect: attach failed: %s", strerror(-ret));
		goto fail;
	}
	c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.fragml_events), on_event, c, NULL);
	if (!c->rb) {
		ret = fragml_err_set(err, -errno, "ring buffer: %s", strerror(errno));
		goto fail;
	}
	calibrate_vmemmap(c);
	if (!c->vmemmap_base)
		progress(c, "warning: vmemmap calibration failed: the pfn column stays 0");
	mkdir(c->o.outdir, 0755);
	{
		/* The tracepoint hooks; the fallback gate's data come from --gate (gatelog.c). */
		static const char *const files[] = { "lifetime.csv", "thp_fault.csv", "compaction.csv" };
		static const char *const extras[] = { "block_mt,life_ms,pfn", "touched,life_ms,huge",
						      "status,duration_us,free_huge_after" };
		_Static_assert(FRAGML_HOOK_LIFETIME == 0 && FRAGML_HOOK_THP_FAULT == 1 &&
			       FRAGML_HOOK_COMPACTION == 2, "files[] is indexed by hook");

		for (size_t h = 0; h < sizeof(files) / sizeof(files[0]); h++) {
			snprintf(path, sizeof(path), "%s/%s", c->o.outdir, files[h]);
			ret = fragml_csv_open(&c->csv[h], path, c->o.workload, extras[h], err);
			if (ret)
				goto fail;
		}
	}
	*cp = c;
	return 0;
fail:
	fragml_collect_close(c);
	return ret;
}

void fragml_collect_stop(struct fragml_collector *c)
{
	if (c)
		c->stop = 1;
}

static void finish_regions(struct fragml_collector *c, uint64_t end)
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

static void finish_allocs(struct fragml_collector *c, uint64_t end)
{
	uint64_t T = (uint64_t)(c->o.lifetime_T_s * 1e9);

	for (size_t i = 0; i < c->n_allocs; i++) {
		struct alloc_rec *a = &c->allocs[i];

		if (!a->live)
			continue;
		if (end - a->ts >= T)
			emit_lifetime(c, a, 0, 0);
		else
			c->st.censored++;
	}
}

struct src_total { uint32_t tgid, cls; uint64_t total; size_t first; };

static int src_total_cmp(const void *a, const void *b)
{
	const struct src_total *x = a, *y = b;

	return x->total > y->total ? -1 : x->total < y->total;
}

/* (tgid, cls) grouped together, then by count, descending */
static int stack_agg_cmp(const void *a, const void *b)
{
	const struct stack_agg *x = a, *y = b;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	return x->count > y->count ? -1 : x->count < y->count;
}

#define STACK_SOURCES 10

/* "stacks": the sources with most stack-recorded allocations, each with its
 * top call stacks symbolised through /proc/kallsyms. */
static void write_stacks(struct fragml_collector *c, FILE *f)
{
	int fd = bpf_map__fd(c->skel->maps.fragml_stackmap);
	struct src_total *tot = NULL;
	struct fragml_ksyms *ks;
	struct fragml_err kerr = {};
	size_t n = 0;

	if (!c->o.stacks) {
		fputs("null", f);
		return;
	}
	ks = fragml_ksyms_load(&kerr);
	if (!ks) {
		fprintf(f, "{\"error\":\"%s\"}", fragml_err_msg(&kerr));
		return;
	}
	qsort(c->stacks, c->n_stacks, sizeof(*c->stacks), stack_agg_cmp);
	tot = calloc(c->n_stacks + 1, sizeof(*tot));
	for (size_t i = 0; tot && i < c->n_stacks; i++) {
		if (!n || tot[n - 1].tgid != c->stacks[i].tgid || tot[n - 1].cls != c->stacks[i].cls) {
			tot[n].tgid = c->stacks[i].tgid;
			tot[n].cls = c->stacks[i].cls;
			tot[n].first = i;
			n++;
		}
		tot[n - 1].total += c->stacks[i].count;
	}
	if (tot)
		qsort(tot, n, sizeof(*tot), src_total_cmp);
	fputc('[', f);
	for (size_t s = 0; s < n && s < STACK_SOURCES; s++) {
		const struct stack_agg *a = &c->stacks[tot[s].first];
		const char *cls = fragml_alloc_class_name(a->cls);
		char src[128];

		make_source(src, sizeof(src), a->tgid, a->comm, a->flags, NULL);
		fprintf(f, "%s\n {\"source\":\"%s\",\"class\":\"%s\",\"allocs\":%llu,\"top\":[",
			s ? "," : "", src, cls ? cls : "kernel", (unsigned long long)tot[s].total);
		for (unsigned int k = 0; k < c->o.stacks_top; k++, a++) {
			__u64 ip[FRAGML_STACK_DEPTH_USER] = {};
			__u32 id = (__u32)a->stack_id;

			if (a >= c->stacks + c->n_stacks || a->tgid != tot[s].tgid || a->cls != tot[s].cls)
				break;
			fprintf(f, "%s{\"count\":%llu,\"stack_id\":%d,\"frames\":[", k ? "," : "",
				(unsigned long long)a->count, a->stack_id);
			if (!bpf_map_lookup_elem(fd, &id, ip)) {
				int shown = 0;

				for (int d = 0; d < FRAGML_STACK_DEPTH_USER && ip[d]; d++) {
					char sym[300];

					fragml_ksym_format(ks, ip[d], sym, sizeof(sym));
					/* tracing machinery, if the kernel has more of it than skipped */
					if (!shown && (!strncmp(sym, "bpf_", 4) || !strncmp(sym, "__traceiter_", 12) ||
						       !strncmp(sym, "__bpf_trace_", 12)))
						continue;
					fprintf(f, "%s\"%s\"", shown++ ? "," : "", sym);
				}
			}
			fputs("]}", f);
		}
		fputs("]}", f);
	}
	fputs("]", f);
	free(tot);
	fragml_ksyms_free(ks);
}

/* Kernel memory of the collector's maps and programs, as the kernel accounts it. */
static uint64_t collector_kmem(struct fragml_collector *c)
{
	struct fragml_kmem km = { 0 };
	struct bpf_program *p;
	uint64_t total;

	bpf_object__for_each_program(p, c->skel->obj)
		if (bpf_program__fd(p) >= 0)
			fragml_kmem_add_fd(&km, bpf_program__fd(p), NULL);
	total = km.map_bytes + km.prog_bytes;
	fragml_kmem_free(&km);
	return total;
}

static int write_summary(struct fragml_collector *c, struct fragml_err *err)
{
	char path[512];
	struct fragml_ident id;
	FILE *f;

	snprintf(path, sizeof(path), "%s/summary.json", c->o.outdir);
	f = fopen(path, "w");
	if (!f)
		return fragml_err_set(err, -errno, "%s: %s", path, strerror(errno));
	fprintf(f, "{\"workload\":\"%s\",\"elapsed_s\":%.3f,\"events\":%llu,\"lost\":%llu,"
		"\"allocs\":%llu,\"frees_matched\":%llu,\"extfrag\":%llu,\"faults\":%llu,"
		"\"regions\":%llu,\"compactions\":%llu,\"censored\":%llu,\"slab_named\":%llu,"
		"\"rows\":{\"lifetime\":%llu,\"thp_fault\":%llu,\"compaction\":%llu},"
		"\"sample\":%u,\"lifetime_T_s\":%g,\"vmemmap_base\":\"0x%llx\",\"kernel_bytes\":%llu,\n\"before\":",
		c->csv[0].workload, c->st.elapsed_s, (unsigned long long)c->st.events,
		(unsigned long long)c->st.lost, (unsigned long long)c->st.allocs,
		(unsigned long long)c->st.frees_matched, (unsigned long long)c->st.extfrag,
		(unsigned long long)c->st.faults, (unsigned long long)c->st.regions,
		(unsigned long long)c->st.compactions, (unsigned long long)c->st.censored,
		(unsigned long long)c->st.slab_named,
		(unsigned long long)c->st.rows[0], (unsigned long long)c->st.rows[1],
		(unsigned long long)c->st.rows[2], c->o.sample, c->o.lifetime_T_s,
		(unsigned long long)c->vmemmap_base, (unsigned long long)c->st.kernel_bytes);
	fragml_snapshot_json(&c->before, f);
	fputs(",\n\"after\":", f);
	fragml_snapshot_json(&c->after, f);
	fputs(",\n\"stacks\":", f);
	write_stacks(c, f);
	fputs(",\n\"pageblocks\":", f);
	{
		/* per-pageblock scan at the end, with this run's tracked pages classed */
		struct fragml_pageblock_scan pb;
		struct fragml_err perr = {};

		if (!fragml_pageblock_scan(&pb, bpf_map__fd(c->skel->maps.fragml_live), &perr))
			fragml_pageblock_json(&pb, f);
		else
			fprintf(f, "{\"error\":\"%s\"}", fragml_err_msg(&perr));
	}
	fputs(",\n\"identification\":", f);
	if (!fragml_ident_read_fds(&id, bpf_map__fd(c->skel->maps.fragml_src),
				   bpf_map__fd(c->skel->maps.fragml_src_slab),
				   bpf_map__fd(c->skel->maps.fragml_stats), NULL, NULL)) {
		fragml_ident_json(&id, f, 20);
		fragml_ident_free(&id);
	} else {
		fputs("null", f);
	}
	fputs("}\n", f);
	if (fclose(f))
		return fragml_err_set(err, -EIO, "%s: write failed", path);
	return 0;
}

int fragml_collect_run(struct fragml_collector *c, struct fragml_collect_stats *st,
		       struct fragml_err *err)
{
	uint64_t t0 = mono_ns(), last = t0, end_ns = 0, now;
	int ret = 0;

	c->err = err;
	c->t_start = t0;
	fragml_snapshot_take(&c->before, true, NULL);
	if (c->o.duration_s > 0)
		end_ns = t0 + (uint64_t)(c->o.duration_s * 1e9);
	while (!c->stop) {
		ret = ring_buffer__poll(c->rb, 100);
		if (ret == -EINTR) {
			ret = 0;
			continue;
		}
		if (ret < 0) {
			fragml_err_set(err, ret, "ring buffer poll: %s", strerror(-ret));
			break;
		}
		ret = 0;
		if (c->failed)
			break;
		now = mono_ns();
		if (now - last >= 1000000000ull) {
			last = now;
			c->st.lost = stat_sum(c, FRAGML_STAT_LOST);
			progress(c, "%6.1fs events %llu lost %llu allocs %llu frees %llu extfrag %llu faults %llu compactions %llu rows %llu/%llu/%llu",
				 (now - t0) / 1e9, (unsigned long long)c->st.events,
				 (unsigned long long)c->st.lost, (unsigned long long)c->st.allocs,
				 (unsigned long long)c->st.frees_matched,
				 (unsigned long long)c->st.extfrag, (unsigned long long)c->st.faults,
				 (unsigned long long)c->st.compactions,
				 (unsigned long long)c->st.rows[0], (unsigned long long)c->st.rows[1],
				 (unsigned long long)c->st.rows[2]);
		}
		if (end_ns && now >= end_ns)
			break;
	}
	ring_buffer__consume(c->rb);
	c->st.kernel_bytes = collector_kmem(c);
	now = mono_ns();
	fragml_snapshot_take(&c->after, true, NULL);
	c->st.lost = stat_sum(c, FRAGML_STAT_LOST);
	c->st.elapsed_s = (now - t0) / 1e9;
	/* the last event time is the end of observation */
	finish_allocs(c, now);
	finish_regions(c, now);
	for (int h = 0; h < FRAGML_NR_HOOKS; h++)
		if (fragml_csv_close(&c->csv[h], c->failed ? NULL : err) && !ret)
			ret = -EIO;
	if (c->failed && !ret)
		ret = err && err->code ? err->code : -EIO;
	if (!ret)
		ret = write_summary(c, err);
	if (st)
		*st = c->st;
	return ret;
}

uint64_t fragml_collect_slab_objs(struct fragml_collector *c, uint32_t tgid, const char *substr)
{
	int fd = bpf_map__fd(c->skel->maps.fragml_src_slab);
	struct fragml_slab_key k, nk;
	struct fragml_slab_val v;
	void *kp = NULL;
	uint64_t n = 0;

	for (; !bpf_map_get_next_key(fd, kp, &nk); kp = &k) {
		k = nk;
		if (k.tgid != tgid || bpf_map_lookup_elem(fd, &k, &v))
			continue;
		v.name[31] = 0;
		if (strstr(v.name, substr))
			n += v.objs;
	}
	return n;
}

int fragml_collect_live_fd(struct fragml_collector *c)
{
	return bpf_map__fd(c->skel->maps.fragml_live);
}

uint64_t fragml_collect_extfrag_of(struct fragml_collector *c, uint32_t tgid)
{
	int fd = bpf_map__fd(c->skel->maps.fragml_src);
	struct fragml_src_key k, nk;
	struct fragml_src_val v;
	void *kp = NULL;
	uint64_t n = 0;

	for (; !bpf_map_get_next_key(fd, kp, &nk); kp = &k) {
		k = nk;
		if (k.tgid == tgid && !bpf_map_lookup_elem(fd, &k, &v))
			n += v.extfrag;
	}
	return n;
}

void fragml_collect_close(struct fragml_collector *c)
{
	if (!c)
		return;
	ring_buffer__free(c->rb);
	fragml_collect__destroy(c->skel);
	for (int h = 0; h < FRAGML_NR_HOOKS; h++)
		if (c->csv[h].f)
			fragml_csv_close(&c->csv[h], NULL);
	u64map_free(&c->allocs_by_page);
	u64map_free(&c->regions_by_key);
	u64map_free(&c->stacks_by_key);
	free(c->stacks);
	free(c->allocs);
	free(c->free_slots);
	free(c->regions);
	free(c);
}
