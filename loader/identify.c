// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Identification stage: call-site table for allocation classes, and the
 * ranked per-source view read from the identification maps.
 */
#define _GNU_SOURCE	/* nftw() */
#include <errno.h>
#include <ftw.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/types.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fragml_identify.h"
#include "fragml_collect.h"
#include "fragml_load.h"
#include "fragml_collect_events.h"
#include "mono_ns.h"

/*
 * Functions whose presence on the allocating stack names the class.  The
 * innermost registered frame wins, so slab beats the net or pipe path that
 * called kmalloc.  Names differ between 6.12 and 6.18 and some are inlined:
 * every spelling is listed, the absent ones are skipped.
 */
static const struct { const char *sym; unsigned int cls; } site_syms[] = {
	{ "allocate_slab", FRAGML_CLASS_SLAB },
	{ "new_slab", FRAGML_CLASS_SLAB },
	{ "___slab_alloc", FRAGML_CLASS_SLAB },
	{ "__pte_alloc", FRAGML_CLASS_PAGETABLE },
	{ "__pte_alloc_kernel", FRAGML_CLASS_PAGETABLE },
	{ "__pmd_alloc", FRAGML_CLASS_PAGETABLE },
	{ "__pud_alloc", FRAGML_CLASS_PAGETABLE },
	{ "__p4d_alloc", FRAGML_CLASS_PAGETABLE },
	{ "pte_alloc_one", FRAGML_CLASS_PAGETABLE },
	{ "pgd_alloc", FRAGML_CLASS_PAGETABLE },
	{ "alloc_thread_stack_node", FRAGML_CLASS_KSTACK },
	{ "dup_task_struct", FRAGML_CLASS_KSTACK },
	{ "anon_pipe_write", FRAGML_CLASS_PIPE },
	{ "pipe_write", FRAGML_CLASS_PIPE },
	{ "skb_page_frag_refill", FRAGML_CLASS_NET },
	{ "sk_page_frag_refill", FRAGML_CLASS_NET },
	{ "__page_frag_alloc_align", FRAGML_CLASS_NET },
	{ "__page_frag_cache_refill", FRAGML_CLASS_NET },
	{ "alloc_skb_with_frags", FRAGML_CLASS_NET },
	{ "__alloc_skb", FRAGML_CLASS_NET },
	{ "__napi_alloc_skb", FRAGML_CLASS_NET },
	{ "__netdev_alloc_skb", FRAGML_CLASS_NET },
	{ "page_pool_alloc_pages", FRAGML_CLASS_NET },
	{ "tcp_sendmsg_locked", FRAGML_CLASS_NET },
	{ "unix_stream_sendmsg", FRAGML_CLASS_NET },
	{ "filemap_alloc_folio_noprof", FRAGML_CLASS_PAGECACHE },
	{ "__filemap_get_folio", FRAGML_CLASS_PAGECACHE },
};
#define N_SITE_SYMS (sizeof(site_syms) / sizeof(site_syms[0]))

static int site_cmp(const void *a, const void *b)
{
	const struct fragml_site *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* ---- kernel text symbols from /proc/kallsyms ---- */

struct fragml_ksym { __u64 addr; char *name; };
struct fragml_ksyms { struct fragml_ksym *s; size_t n; };

static int ksym_cmp(const void *a, const void *b)
{
	const struct fragml_ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

struct fragml_ksyms *fragml_ksyms_load(struct fragml_err *err)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	struct fragml_ksyms *ks = calloc(1, sizeof(*ks));
	size_t cap = 0;
	char line[512], name[256], type;
	unsigned long long addr;

	if (!f || !ks) {
		fragml_err_set(err, f ? -ENOMEM : -errno, "/proc/kallsyms: %s",
			       f ? "out of memory" : strerror(errno));
		goto fail;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3 || !addr)
			continue;
		if (type != 't' && type != 'T')
			continue;
		if (ks->n == cap) {
			struct fragml_ksym *ns;

			cap = cap ? cap * 2 : 1 << 17;
			ns = realloc(ks->s, cap * sizeof(*ns));
			if (!ns) {
				fragml_err_set(err, -ENOMEM, "/proc/kallsyms: out of memory");
				goto fail;
			}
			ks->s = ns;
		}
		ks->s[ks->n].addr = addr;
		ks->s[ks->n].name = strdup(name);
		if (!ks->s[ks->n].name) {
			fragml_err_set(err, -ENOMEM, "/proc/kallsyms: out of memory");
			goto fail;
		}
		ks->n++;
	}
	fclose(f);
	f = NULL;
	if (!ks->n) {
		fragml_err_set(err, -EPERM,
			"/proc/kallsyms: no addresses visible (kptr_restrict?): run as root");
		goto fail;
	}
	qsort(ks->s, ks->n, sizeof(*ks->s), ksym_cmp);
	return ks;
fail:
	if (f)
		fclose(f);
	fragml_ksyms_free(ks);
	return NULL;
}

void fragml_ksyms_free(struct fragml_ksyms *ks)
{
	if (!ks)
		return;
	for (size_t i = 0; i < ks->n; i++)
		free(ks->s[i].name);
	free(ks->s);
	free(ks);
}

/* Index of the symbol containing addr (the last one starting at or below it), or -1. */
static long ksym_at(const struct fragml_ksyms *ks, __u64 addr)
{
	size_t lo = 0, hi = ks->n;

	if (!ks->n || addr < ks->s[0].addr)
		return -1;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (ks->s[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return (long)lo;
}

int fragml_ksym_format(const struct fragml_ksyms *ks, uint64_t addr, char *buf, size_t cap)
{
	long i = ksym_at(ks, addr);

	if (i < 0 || (size_t)i + 1 >= ks->n)	/* past the last text symbol: not kernel text */
		return snprintf(buf, cap, "0x%llx", (unsigned long long)addr);
	return snprintf(buf, cap, "%s+0x%llx", ks->s[i].name,
			(unsigned long long)(addr - ks->s[i].addr));
}

/*
 * One pass over /proc/kallsyms per process, for what the programs need
 * before and after their load: _text and the allocator's entry (the site
 * identity) and the call-site table.  Only text symbols' addresses are kept
 * (each site ends at the next one), and lines are split by hand: under
 * emulation a sscanf() and a strdup() per symbol cost seconds a load.
 */
static struct fragml_kscan {
	int done, ret;
	char msg[160];
	struct fragml_kaddrs a;
	struct fragml_site_table tb;
} kscan;

static int u64_cmp(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static int kscan_run(struct fragml_kscan *k)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	__u64 *addr = NULL, frozen = 0, old = 0;
	size_t n = 0, cap = 0;
	char line[512];

	if (!f) {
		int e = errno;

		snprintf(k->msg, sizeof(k->msg), "/proc/kallsyms: %s", strerror(e));
		return -e;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p, *name;
		__u64 a = strtoull(line, &p, 16);
		size_t len;

		if (!a || p[0] != ' ' || (p[1] != 't' && p[1] != 'T') || p[2] != ' ')
			continue;
		name = p + 3;
		len = strcspn(name, " \t\n");
		name[len] = 0;
		if (n == cap) {
			__u64 *na = realloc(addr, (cap = cap ? cap * 2 : 1 << 15) * sizeof(*na));

			if (!na) {
				free(addr);
				fclose(f);
				snprintf(k->msg, sizeof(k->msg), "/proc/kallsyms: out of memory");
				return -ENOMEM;
			}
			addr = na;
		}
		addr[n++] = a;
		if (!k->a.text && !strcmp(name, "_text"))
			k->a.text = a;
		else if (!frozen && !strcmp(name, "__alloc_frozen_pages_noprof"))
			frozen = a;
		else if (!old && !strcmp(name, "__alloc_pages_noprof"))
			old = a;
		for (size_t i = 0; i < N_SITE_SYMS && k->tb.n < FRAGML_MAX_SITES; i++)
			if (!strcmp(name, site_syms[i].sym)) {
				k->tb.s[k->tb.n].start = a;
				k->tb.s[k->tb.n++].cls = site_syms[i].cls;
				break;
			}
	}
	fclose(f);
	if (!n) {
		free(addr);
		snprintf(k->msg, sizeof(k->msg),
			 "/proc/kallsyms: no addresses visible (kptr_restrict?): run as root");
		return -EPERM;
	}
	k->a.alloc_entry = frozen ? frozen : old;	/* 6.15 renamed the entry */
	qsort(addr, n, sizeof(*addr), u64_cmp);
	/* a site runs from its start to the next text symbol at a higher
	 * address; one at the last address has no end and is dropped */
	__u32 kept = 0;

	for (__u32 i = 0; i < k->tb.n; i++) {
		size_t lo = 0, hi = n;

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (addr[mid] <= k->tb.s[i].start)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < n) {
			k->tb.s[kept] = k->tb.s[i];
			k->tb.s[kept++].end = addr[lo];
		}
	}
	k->tb.n = kept;
	free(addr);
	qsort(k->tb.s, k->tb.n, sizeof(k->tb.s[0]), site_cmp);
	return 0;
}

static struct fragml_kscan *kscan_get(struct fragml_err *err)
{
	if (!kscan.done) {
		kscan.ret = kscan_run(&kscan);
		kscan.done = 1;
	}
	if (kscan.ret) {
		fragml_err_set(err, kscan.ret, "%s", kscan.msg);
		return NULL;
	}
	return &kscan;
}

int fragml_kaddrs(struct fragml_kaddrs *out, struct fragml_err *err)
{
	struct fragml_kscan *k = kscan_get(err);

	if (!k)
		return kscan.ret;
	*out = k->a;
	return 0;
}

int fragml_sites_fill(int map_fd, struct fragml_err *err)
{
	struct fragml_kscan *k = kscan_get(err);
	__u32 zero = 0;

	if (!k)
		return kscan.ret;
	if (bpf_map_update_elem(map_fd, &zero, &k->tb, BPF_ANY))
		return fragml_err_set(err, -errno, "fragml_sites map: update failed: %s", strerror(errno));
	return (int)k->tb.n;
}

/* ---- reading and ranking ---- */

static int src_rank(const void *a, const void *b)
{
	const struct fragml_source *x = a, *y = b;

#define BY(f) do { if (x->f != y->f) return x->f > y->f ? -1 : 1; } while (0)
	BY(huge_blocked);
	BY(blocks_polluted);
	BY(predicted_long);
	BY(extfrag);
	BY(pages);
	BY(slab_objs);
#undef BY
	return 0;
}

static struct fragml_source *find_prev(const struct fragml_ident *p, const struct fragml_source *s)
{
	if (!p)
		return NULL;
	for (unsigned int i = 0; i < p->n; i++)
		if (p->src[i].tgid == s->tgid && p->src[i].cls == s->cls &&
		    !strcmp(p->src[i].name, s->name))
			return &p->src[i];
	return NULL;
}

/*
 * Cgroup paths.  The id the observe programs record (bpf_get_current_cgroup_id())
 * is the kernfs node id of the task's cgroup v2 directory, which is that
 * directory's inode number: one walk of the cgroup2 mount names them all.
 * nftw() takes no argument for its callback, hence the file-scope state; the
 * readers (fragml report, fragml top) are single-threaded.
 */
#define FRAGML_CGROUP2_MAGIC 0x63677270	/* CGROUP2_SUPER_MAGIC */

static struct {
	struct fragml_ident *id;
	size_t rootlen;
	unsigned int left;
} cgw;

static int cg_visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type != FTW_D)
		return 0;
	for (unsigned int i = 0; i < cgw.id->n; i++) {
		struct fragml_source *s = &cgw.id->src[i];

		if (s->cgroup != (uint64_t)st->st_ino || s->cgroup_path[0])
			continue;
		snprintf(s->cgroup_path, sizeof(s->cgroup_path), "%s",
			 path[cgw.rootlen] ? path + cgw.rootlen : "/");
		cgw.left--;
	}
	return cgw.left ? 0 : 1;	/* non-zero stops the walk */
}

/* Fill the cgroup_path left empty where a cgroup2 mount holds the id ($FRAGML_CGROUP_ROOT,
 * else /sys/fs/cgroup or, on a hybrid hierarchy, /sys/fs/cgroup/unified). */
static void resolve_cgroups(struct fragml_ident *id)
{
	const char *roots[] = { getenv("FRAGML_CGROUP_ROOT"), "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
	struct statfs sf;

	cgw.id = id;
	cgw.left = 0;
	for (unsigned int i = 0; i < id->n; i++)
		cgw.left += id->src[i].cgroup && !id->src[i].cgroup_path[0];
	for (unsigned int r = 0; r < sizeof(roots) / sizeof(roots[0]) && cgw.left; r++) {
		if (!roots[r] || statfs(roots[r], &sf) || sf.f_type != FRAGML_CGROUP2_MAGIC)
			continue;
		cgw.rootlen = strlen(roots[r]);
		nftw(roots[r], cg_visit, 16, FTW_PHYS | FTW_MOUNT);
		break;
	}
	cgw.id = NULL;
}

int fragml_ident_read_fds(struct fragml_ident *id, int src_fd, int slab_fd, int stats_fd,
			  const struct fragml_ident *prev, struct fragml_err *err)
{
	struct fragml_src_key k, nk;
	struct fragml_src_val v;
	struct fragml_slab_key sk, snk;
	struct fragml_slab_val sv;
	unsigned int cap = 256;
	int ncpu = libbpf_num_possible_cpus();
	void *kp = NULL;

	memset(id, 0, sizeof(*id));
	id->ts_ns = loader_mono_ns();
	id->src = calloc(cap, sizeof(*id->src));
	if (!id->src)
		return fragml_err_set(err, -ENOMEM, "sources: out of memory");
#define GROW() do {								\
		if (id->n == cap) {						\
			struct fragml_source *ns = realloc(id->src, 2 * cap * sizeof(*ns)); \
			if (!ns) { fragml_ident_free(id);			\
				return fragml_err_set(err, -ENOMEM, "sources: out of memory"); } \
			id->src = ns; cap *= 2;					\
		}								\
	} while (0)
	for (kp = NULL; !bpf_map_get_next_key(src_fd, kp, &nk); kp = &k) {
		k = nk;
		if (bpf_map_lookup_elem(src_fd, &k, &v))
			continue;
		GROW();
		struct fragml_source *s = &id->src[id->n++];

		memset(s, 0, sizeof(*s));
		s->tgid = k.tgid;
		s->cls = k.cls;
		memcpy(s->comm, v.comm, sizeof(s->comm));
		s->comm[sizeof(s->comm) - 1] = 0;
		if (k.tgid)
			snprintf(s->name, sizeof(s->name), "%s:%u", s->comm, k.tgid);
		else
			snprintf(s->name, sizeof(s->name), "kthread:%s", s->comm);
		s->cgroup = v.cgroup;
		s->pages = v.pages;
		s->extfrag = v.extfrag;
		s->extfrag_claim = v.extfrag_claim;
		s->decided = v.decided;
		s->predicted_long = v.predicted_long;
		s->thp_faults = v.thp_faults;
		s->blocks_polluted = v.blocks_polluted > 0 ? v.blocks_polluted : 0;
		s->huge_blocked = v.huge_blocked > 0 ? v.huge_blocked : 0;
		memcpy(s->fate, v.fate, sizeof(s->fate));
	}
	if (slab_fd >= 0) {
		for (kp = NULL; !bpf_map_get_next_key(slab_fd, kp, &snk); kp = &sk) {
			sk = snk;
			if (bpf_map_lookup_elem(slab_fd, &sk, &sv))
				continue;
			GROW();
			struct fragml_source *s = &id->src[id->n++];

			memset(s, 0, sizeof(*s));
			s->tgid = sk.tgid;
			s->cls = FRAGML_CLASS_SLAB;
			sv.name[sizeof(sv.name) - 1] = 0;
			sv.comm[sizeof(sv.comm) - 1] = 0;
			memcpy(s->comm, sv.comm, sizeof(s->comm));
			snprintf(s->name, sizeof(s->name), "slab:%s", sv.name);
			s->slab_objs = sv.objs;
			s->slab_pages = sv.pages;
		}
	}
#undef GROW
	if (stats_fd >= 0 && ncpu > 0) {
		__u64 *vals = calloc(ncpu, sizeof(__u64));

		for (__u32 i = 0; vals && i < 8; i++) {
			if (bpf_map_lookup_elem(stats_fd, &i, vals))
				continue;
			for (int c = 0; c < ncpu; c++)
				id->stats[i] += vals[c];
		}
		free(vals);
	}
	for (unsigned int i = 0; i < id->n; i++) {
		struct fragml_source *s = &id->src[i], *p = find_prev(prev, s);
		double dt = prev ? (id->ts_ns - prev->ts_ns) / 1e9 : 0;

		if (p && dt > 0) {
			s->pages_per_s = (s->pages + s->slab_objs - p->pages - p->slab_objs) / dt;
			s->extfrag_per_s = (s->extfrag - p->extfrag) / dt;
		}
		if (p && p->cgroup == s->cgroup)	/* named at the previous read */
			memcpy(s->cgroup_path, p->cgroup_path, sizeof(s->cgroup_path));
	}
	resolve_cgroups(id);
	qsort(id->src, id->n, sizeof(*id->src), src_rank);
	return 0;
}

int fragml_ident_read(struct fragml_ident *id, const char *dir, const struct fragml_ident *prev,
		      struct fragml_err *err)
{
	char p[PATH_MAX];
	int src_fd, slab_fd, stats_fd, live_fd, ret;

	if (!dir)
		dir = FRAGML_PIN_DIR;
	snprintf(p, sizeof(p), "%s/fragml_src", dir);
	src_fd = bpf_obj_get(p);
	if (src_fd < 0)
		return fragml_err_set(err, -ENOENT,
			"%s: not pinned: identification is off (load with 'fragml-load --identify MODEL.bin', or use fragml-collect for a one-off trace)", p);
	/* fragml-load does not know the call sites: fill them on first use */
	snprintf(p, sizeof(p), "%s/fragml_sites", dir);
	slab_fd = bpf_obj_get(p);
	if (slab_fd >= 0) {
		struct fragml_site_table tb;
		__u32 zero = 0;

		if (!bpf_map_lookup_elem(slab_fd, &zero, &tb) && !tb.n)
			fragml_sites_fill(slab_fd, NULL);
		close(slab_fd);
	}
	snprintf(p, sizeof(p), "%s/fragml_src_slab", dir);
	slab_fd = bpf_obj_get(p);
	snprintf(p, sizeof(p), "%s/fragml_stats", dir);
	stats_fd = bpf_obj_get(p);
	ret = fragml_ident_read_fds(id, src_fd, slab_fd, stats_fd, prev, err);
	snprintf(p, sizeof(p), "%s/fragml_live", dir);
	live_fd = ret ? -1 : bpf_obj_get(p);	/* absent without tracking */
	if (live_fd >= 0) {
		long judged = fragml_ident_judge_alive(id, live_fd, FRAGML_OBSERVE_LIFETIME_T_NS, err);

		if (judged < 0) {
			fragml_ident_free(id);
			ret = (int)judged;
		}
		close(live_fd);
	}
	close(src_fd);
	if (slab_fd >= 0)
		close(slab_fd);
	if (stats_fd >= 0)
		close(stats_fd);
	return ret;
}

/* The sources read from fragml_src (not the slab rows), by (tgid, class). */
static int by_key(const void *a, const void *b, void *arg)
{
	const struct fragml_source *src = arg, *x = &src[*(const unsigned int *)a],
				   *y = &src[*(const unsigned int *)b];

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	return x->cls < y->cls ? -1 : x->cls > y->cls;
}

bool fragml_source_is_slab_cache(const struct fragml_source *s)
{
	return s->cls == FRAGML_CLASS_SLAB && !strncmp(s->name, "slab:", 5);
}

/* Pageblocks polluted now, by every source. */
static int64_t polluted_total(const struct fragml_ident *id)
{
	int64_t n = 0;

	for (unsigned int i = 0; i < id->n; i++)
		n += id->src[i].blocks_polluted;
	return n;
}

static struct fragml_source *find_src(struct fragml_ident *id, const unsigned int *ix,
				      unsigned int n, const struct fragml_src_key *k)
{
	unsigned int lo = 0, hi = n;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		const struct fragml_source *s = &id->src[ix[mid]];

		if (s->tgid == k->tgid && s->cls == k->cls)
			return &id->src[ix[mid]];
		if (s->tgid < k->tgid || (s->tgid == k->tgid && s->cls < k->cls))
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

long fragml_ident_judge_alive(struct fragml_ident *id, int live_fd, uint64_t T_ns,
			      struct fragml_err *err)
{
	enum { BATCH = 1024 };
	uint64_t now = loader_mono_ns(), *keys = NULL, token = 0;
	struct fragml_live *vals = NULL;
	unsigned int *ix = NULL, n = 0;
	long added = 0;
	bool first = true;

	ix = calloc(id->n ? id->n : 1, sizeof(*ix));
	keys = calloc(BATCH, sizeof(*keys));
	vals = calloc(BATCH, sizeof(*vals));
	if (!ix || !keys || !vals) {
		added = fragml_err_set(err, -ENOMEM, "fragml_live: out of memory");
		goto out;
	}
	for (unsigned int i = 0; i < id->n; i++)
		if (!fragml_source_is_slab_cache(&id->src[i]))
			ix[n++] = i;
	qsort_r(ix, n, sizeof(*ix), by_key, id->src);
	for (;;) {
		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		__u32 count = BATCH;
		int r = bpf_map_lookup_batch(live_fd, first ? NULL : &token, &token, keys, vals,
					     &count, &bo);
		int done = r < 0 && errno == ENOENT;

		if (r < 0 && !done) {
			added = fragml_err_set(err, -errno, "fragml_live: batch lookup failed: %s",
					       strerror(errno));
			goto out;
		}
		first = false;
		for (__u32 i = 0; i < count; i++) {
			const struct fragml_live *lv = &vals[i];
			struct fragml_source *s;

			if (!lv->pred || now < lv->ts || now - lv->ts < T_ns)
				continue;	/* undecided, or its fate not known yet */
			s = find_src(id, ix, n, &lv->src);
			if (!s)
				continue;
			s->fate[FRAGML_FATE(lv->pred == FRAGML_PRED_LONG, 1)]++;
			added++;
		}
		if (done)
			break;
	}
out:
	free(ix);
	free(keys);
	free(vals);
	return added;
}

double fragml_source_precision(const struct fragml_source *s)
{
	uint64_t tp = s->fate[FRAGML_FATE(1, 1)], fp = s->fate[FRAGML_FATE(1, 0)];

	return tp + fp ? (double)tp / (double)(tp + fp) : -1;
}

double fragml_source_recall(const struct fragml_source *s)
{
	uint64_t tp = s->fate[FRAGML_FATE(1, 1)], fn = s->fate[FRAGML_FATE(0, 1)];

	return tp + fn ? (double)tp / (double)(tp + fn) : -1;
}

void fragml_ident_free(struct fragml_ident *id)
{
	free(id->src);
	id->src = NULL;
	id->n = 0;
}

static const char *cls_name(unsigned int c)
{
	const char *n = fragml_class_name(c);

	return n ? n : "?";
}

void fragml_ident_table(const struct fragml_ident *id, FILE *out, unsigned int limit)
{
	unsigned int n = limit && limit < id->n ? limit : id->n;

	fprintf(out, "%-28s %-9s %10s %9s %9s %9s %5s %9s %9s  %s\n", "SOURCE", "CLASS", "EVENTS/S",
		"PAGES", "EXTFRAG", "PRED_LONG", "PREC", "POLLUTED", "HUGE_BLK", "CGROUP");
	for (unsigned int i = 0; i < n; i++) {
		const struct fragml_source *s = &id->src[i];
		double pr = fragml_source_precision(s);
		char pages[24], prec[16] = "-";

		if (fragml_source_is_slab_cache(s))
			snprintf(pages, sizeof(pages), "%llu o", (unsigned long long)s->slab_objs);
		else
			snprintf(pages, sizeof(pages), "%llu", (unsigned long long)s->pages);
		if (pr >= 0)
			snprintf(prec, sizeof(prec), "%.2f", pr);
		fprintf(out, "%-28.28s %-9s %10.1f %9s %9llu %9llu %5s %9lld %9lld  %s\n", s->name,
			cls_name(s->cls), s->pages_per_s + s->extfrag_per_s, pages,
			(unsigned long long)s->extfrag, (unsigned long long)s->predicted_long, prec,
			(long long)s->blocks_polluted, (long long)s->huge_blocked,
			s->cgroup_path[0] ? s->cgroup_path : "-");
	}
	fprintf(out, "pageblocks polluted now %lld (POLLUTED of every source; --json: each one's polluted_share)\n",
		(long long)polluted_total(id));
	fprintf(out, "lost events %llu, tracking table full %llu, extfrag %llu, compactions %llu\n",
		(unsigned long long)id->stats[FRAGML_STAT_LOST],
		(unsigned long long)id->stats[FRAGML_STAT_TRACK_FULL],
		(unsigned long long)id->stats[FRAGML_STAT_EXTFRAG],
		(unsigned long long)id->stats[FRAGML_STAT_COMPACT]);
}

int fragml_ident_json(const struct fragml_ident *id, FILE *out, unsigned int limit)
{
	unsigned int n = limit && limit < id->n ? limit : id->n;
	json_object *root = json_object_new_object(), *arr = json_object_new_array();
	int64_t polluted = polluted_total(id);

	json_object_object_add(root, "ts_ns", json_object_new_int64((int64_t)id->ts_ns));
	json_object_object_add(root, "lost_events", json_object_new_int64((int64_t)id->stats[FRAGML_STAT_LOST]));
	json_object_object_add(root, "track_full", json_object_new_int64((int64_t)id->stats[FRAGML_STAT_TRACK_FULL]));
	json_object_object_add(root, "extfrag", json_object_new_int64((int64_t)id->stats[FRAGML_STAT_EXTFRAG]));
	json_object_object_add(root, "compactions", json_object_new_int64((int64_t)id->stats[FRAGML_STAT_COMPACT]));
	json_object_object_add(root, "blocks_polluted", json_object_new_int64(polluted));
	for (unsigned int i = 0; i < n; i++) {
		const struct fragml_source *s = &id->src[i];
		json_object *o = json_object_new_object();
		char name[sizeof(s->name) * 3], comm[sizeof(s->comm) * 3];

		/* task and cache names come from the kernel: any bytes; JSON wants UTF-8 */
		fragml_utf8_clean(name, sizeof(name), s->name);
		fragml_utf8_clean(comm, sizeof(comm), s->comm);
		json_object_object_add(o, "source", json_object_new_string(name));
		json_object_object_add(o, "class", json_object_new_string(cls_name(s->cls)));
		json_object_object_add(o, "tgid", json_object_new_int64(s->tgid));
		json_object_object_add(o, "comm", json_object_new_string(comm));
		json_object_object_add(o, "cgroup", json_object_new_int64((int64_t)s->cgroup));
		json_object_object_add(o, "cgroup_path", s->cgroup_path[0] ?
				       json_object_new_string(s->cgroup_path) : NULL);
		json_object_object_add(o, "events_per_s", json_object_new_double(s->pages_per_s + s->extfrag_per_s));
		json_object_object_add(o, "pages", json_object_new_int64((int64_t)s->pages));
		json_object_object_add(o, "slab_objects", json_object_new_int64((int64_t)s->slab_objs));
		json_object_object_add(o, "slab_pages", json_object_new_int64((int64_t)s->slab_pages));
		json_object_object_add(o, "extfrag", json_object_new_int64((int64_t)s->extfrag));
		json_object_object_add(o, "extfrag_claim", json_object_new_int64((int64_t)s->extfrag_claim));
		json_object_object_add(o, "decided", json_object_new_int64((int64_t)s->decided));
		json_object_object_add(o, "predicted_long", json_object_new_int64((int64_t)s->predicted_long));
		json_object_object_add(o, "blocks_polluted", json_object_new_int64(s->blocks_polluted));
		/* the source's share of the pageblocks polluted now (null: none is) */
		json_object_object_add(o, "polluted_share", polluted ?
				       json_object_new_double((double)s->blocks_polluted / (double)polluted) : NULL);
		json_object_object_add(o, "huge_blocked", json_object_new_int64(s->huge_blocked));
		json_object_object_add(o, "thp_faults", json_object_new_int64((int64_t)s->thp_faults));
		{
			json_object *f = json_object_new_object();
			double pr = fragml_source_precision(s), rc = fragml_source_recall(s);

			json_object_object_add(f, "predicted_long_lived_long",
					       json_object_new_int64((int64_t)s->fate[FRAGML_FATE(1, 1)]));
			json_object_object_add(f, "predicted_long_lived_short",
					       json_object_new_int64((int64_t)s->fate[FRAGML_FATE(1, 0)]));
			json_object_object_add(f, "predicted_short_lived_long",
					       json_object_new_int64((int64_t)s->fate[FRAGML_FATE(0, 1)]));
			json_object_object_add(f, "predicted_short_lived_short",
					       json_object_new_int64((int64_t)s->fate[FRAGML_FATE(0, 0)]));
			json_object_object_add(o, "judged", f);
			json_object_object_add(o, "precision", pr >= 0 ? json_object_new_double(pr) : NULL);
			json_object_object_add(o, "recall", rc >= 0 ? json_object_new_double(rc) : NULL);
		}
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "sources", arr);
	fprintf(out, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return ferror(out) ? -EIO : 0;
}

static void prom_label(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

int fragml_ident_prometheus(const struct fragml_ident *id, FILE *out, unsigned int limit)
{
	static const struct { const char *name, *help; int field; } m[] = {
		{ "fragml_source_pages_total", "Unmovable/reclaimable pages allocated by the source", 0 },
		{ "fragml_source_extfrag_total", "Allocations of the source that fell back to another migratetype's pageblock", 1 },
		{ "fragml_source_predicted_long_total", "Lifetime-model decisions predicting a long-lived (fragmenting) allocation", 2 },
		{ "fragml_source_pageblocks_polluted", "Pageblocks currently mixed by the source's live fallbacks", 3 },
		{ "fragml_source_huge_pages_blocked", "Mixed pageblocks pinned by the source's unmovable/reclaimable pages", 4 },
		{ "fragml_source_slab_objects_total", "Slab objects allocated (sampled, scaled)", 5 },
	};
	unsigned int n = limit && limit < id->n ? limit : id->n;

	for (size_t j = 0; j < sizeof(m) / sizeof(m[0]); j++) {
		fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", m[j].name, m[j].help, m[j].name,
			strstr(m[j].name, "_total") ? "counter" : "gauge");
		for (unsigned int i = 0; i < n; i++) {
			const struct fragml_source *s = &id->src[i];
			long long v[] = { (long long)s->pages, (long long)s->extfrag,
					  (long long)s->predicted_long, s->blocks_polluted,
					  s->huge_blocked, (long long)s->slab_objs };

			if (!v[m[j].field])
				continue;
			fprintf(out, "%s{source=\"", m[j].name);
			prom_label(out, s->name);
			fprintf(out, "\",class=\"%s\",tgid=\"%u\",cgroup=\"", cls_name(s->cls), s->tgid);
			prom_label(out, s->cgroup_path);
			fprintf(out, "\"} %lld\n", v[m[j].field]);
		}
	}
	fprintf(out, "# HELP fragml_source_lifetime_precision Share of the source's followed pages predicted long-lived that lived at least T\n"
		"# TYPE fragml_source_lifetime_precision gauge\n");
	for (unsigned int i = 0; i < n; i++) {
		const struct fragml_source *s = &id->src[i];
		double pr = fragml_source_precision(s);

		if (pr < 0)
			continue;
		fprintf(out, "fragml_source_lifetime_precision{source=\"");
		prom_label(out, s->name);
		fprintf(out, "\",class=\"%s\",tgid=\"%u\",cgroup=\"", cls_name(s->cls), s->tgid);
		prom_label(out, s->cgroup_path);
		fprintf(out, "\"} %.4f\n", pr);
	}
	fprintf(out, "# HELP fragml_lost_events_total Ring-buffer records dropped\n"
		"# TYPE fragml_lost_events_total counter\nfragml_lost_events_total %llu\n",
		(unsigned long long)id->stats[FRAGML_STAT_LOST]);
	return ferror(out) ? -EIO : 0;
}
