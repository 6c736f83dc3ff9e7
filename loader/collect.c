// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Collection stage: load bpf/fragml_collect.bpf.c, consume its ring buffer
 * (records matched and labelled by collect_label.c), write the three datasets
 * (docs/dataset.md) and summary.json (collect_summary.c).  Lost records are counted by the BPF side and always
 * reported in the stats, the progress line and summary.json.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fragml_identify.h"
#include "fragml_load.h"
#include "fragml_collect.skel.h"
#include "collect_internal.h"
#include "libbpf_log.h"
#include "mono_ns.h"


/*
 * How the reader drains the ring (docs/performance.md, "Stress"): in bulk, at
 * least every COLLECT_DRAIN_MS, and at once when the BPF side sees the ring
 * 1/COLLECT_WAKEUP_DIV full.  At 40 000 records/s (~5 MB/s) a 16 MiB ring
 * holds ~3 s; 50 ms of records is 1.5 % of it.
 */
#define COLLECT_DRAIN_MS	50
#define COLLECT_WAKEUP_DIV	8

void fragml_collect_opts_default(struct fragml_collect_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->outdir = ".";
	o->workload = "unnamed";
	o->sample = 1;
	o->lifetime_T_s = FRAGML_LIFETIME_T_S;
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
	c->epoll_fd = -1;
	libbpf_set_print(loader_libbpf_print);
	ret = fragml_mount_fs(FRAGML_MNT_DEBUGFS | FRAGML_MNT_TRACEFS, &mounted, err);
	if (ret)
		goto fail;
	if (mounted & FRAGML_MNT_DEBUGFS)
		progress(c, "mounted debugfs on /sys/kernel/debug (it was not mounted)");
	if (mounted & FRAGML_MNT_TRACEFS)
		progress(c, "mounted tracefs on /sys/kernel/tracing (it was not mounted)");
	if (collect_tables_init(c, true)) {
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
	c->st.ring_bytes = (uint64_t)rb * 1024;
	c->skel->rodata->ringbuf_wakeup_bytes = (uint64_t)rb * 1024 / COLLECT_WAKEUP_DIV;
	{
		struct fragml_kaddrs ka;

		ret = fragml_kaddrs(&ka, err);
		if (ret)
			goto fail;
		c->skel->rodata->fragml_ksym_text = ka.text;
		c->skel->rodata->fragml_ksym_alloc_entry = ka.alloc_entry;
	}
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
	c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.fragml_events), collect_on_event, c, NULL);
	if (!c->rb) {
		ret = fragml_err_set(err, -errno, "ring buffer: %s", strerror(errno));
		goto fail;
	}
	/* edge-triggered: one report per wakeup, not one per poll while records
	 * keep arriving (level-triggered, a reader that was woken once would
	 * find the ring readable at every poll and never sleep again) */
	c->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	{
		struct epoll_event ev = { .events = EPOLLIN | EPOLLET };

		if (c->epoll_fd < 0 ||
		    epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, bpf_map__fd(c->skel->maps.fragml_events), &ev)) {
			ret = fragml_err_set(err, -errno, "ring buffer: epoll: %s", strerror(errno));
			goto fail;
		}
	}
	calibrate_vmemmap(c);
	if (!c->vmemmap_base)
		progress(c, "warning: vmemmap calibration failed: the pfn column stays 0");
	mkdir(c->o.outdir, 0755);
	{
		/* The tracepoint hooks; the fallback gate's data come from --gate (gatelog.c). */
		static const char *const files[] = { "lifetime.csv", "thp_fault.csv", "compaction.csv" };
		static const char *const extras[] = { "block_mt,life_ms,pfn,site,life_class,pollutes",
						      "touched,life_ms,huge",
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

int fragml_collect_run(struct fragml_collector *c, struct fragml_collect_stats *st,
		       struct fragml_err *err)
{
	uint64_t t0 = loader_mono_ns(), last = t0, end_ns = 0, now;
	struct timespec cpu0, cpu1;
	int ret = 0;

	c->err = err;
	c->t_start = t0;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
	fragml_snapshot_take(&c->before, true, NULL);
	if (c->o.duration_s > 0)
		end_ns = t0 + (uint64_t)(c->o.duration_s * 1e9);
	while (!c->stop) {
		struct epoll_event ev;
		size_t avail;

		/* woken by the BPF side only past the fill level (ringbuf_wakeup_bytes),
		 * else every COLLECT_DRAIN_MS: the ring is drained in bulk */
		ret = epoll_wait(c->epoll_fd, &ev, 1, COLLECT_DRAIN_MS);
		if (ret < 0 && errno != EINTR) {
			ret = -errno;
			fragml_err_set(err, ret, "ring buffer poll: %s", strerror(-ret));
			break;
		}
		if (ret > 0)
			c->st.ring_wakeups++;
		avail = ring__avail_data_size(ring_buffer__ring(c->rb, 0));
		if (avail > c->st.ring_peak_bytes)
			c->st.ring_peak_bytes = avail;
		ret = ring_buffer__consume(c->rb);
		if (ret < 0 && !c->failed) {
			fragml_err_set(err, ret, "ring buffer: %s", strerror(-ret));
			break;
		}
		ret = 0;
		if (c->failed)
			break;
		now = loader_mono_ns();
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
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
	c->st.reader_cpu_s = (cpu1.tv_sec - cpu0.tv_sec) + (cpu1.tv_nsec - cpu0.tv_nsec) / 1e9;
	c->st.kernel_bytes = collect_kernel_bytes(c);
	now = loader_mono_ns();
	fragml_snapshot_take(&c->after, true, NULL);
	c->st.lost = stat_sum(c, FRAGML_STAT_LOST);
	c->st.elapsed_s = (now - t0) / 1e9;
	/* the last event time is the end of observation */
	collect_finish_allocs(c, now);
	collect_finish_regions(c, now);
	for (int h = 0; h < FRAGML_NR_HOOKS; h++)
		if (fragml_csv_close(&c->csv[h], c->failed ? NULL : err) && !ret)
			ret = -EIO;
	if (c->failed && !ret)
		ret = err && err->code ? err->code : -EIO;
	if (!ret)
		ret = collect_write_summary(c, err);
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
		v.name[sizeof(v.name) - 1] = 0;
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
	if (c->epoll_fd >= 0)
		close(c->epoll_fd);
	fragml_collect__destroy(c->skel);
	for (int h = 0; h < FRAGML_NR_HOOKS; h++)
		if (c->csv[h].f)
			fragml_csv_close(&c->csv[h], NULL);
	collect_tables_free(c);
	free(c);
}

int collect_tables_init(struct fragml_collector *c, bool full)
{
	/* a run's sizes; records fed by hand start tiny, so that the tables grow */
	return u64map_init(&c->allocs_by_page, full ? 1 << 18 : 1 << 10) ||
	       u64map_init(&c->regions_by_key, full ? 1 << 16 : 1 << 10) ||
	       u64map_init(&c->stacks_by_key, full ? 1 << 12 : 1 << 10) ||
	       u64map_init(&c->live_regions_by_tgid, full ? 1 << 12 : 4);
}

void collect_tables_free(struct fragml_collector *c)
{
	u64map_free(&c->allocs_by_page);
	u64map_free(&c->regions_by_key);
	u64map_free(&c->stacks_by_key);
	u64map_free(&c->live_regions_by_tgid);
	free(c->stacks);
	free(c->allocs);
	free(c->free_slots);
	free(c->regions);
	free(c->needs);
}

