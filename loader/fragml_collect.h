/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * libfragml, collection stage: the tracepoint collector behind `fragml-collect`
 * (bpf/fragml_collect.bpf.c), the labelled CSV datasets it writes
 * (docs/dataset.md) and the memory-state snapshots it takes.
 *
 * Errors follow fragml_error.h: negative errno + one line in struct fragml_err;
 * nothing here prints or exits.  Progress goes through a caller callback.
 */
#ifndef FRAGML_COLLECT_H
#define FRAGML_COLLECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fragml_model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Allocation class names: fragml_class_name() of fragml_model.h. */

/* ---- CSV datasets (docs/dataset.md) ---- */

/*
 * The header line, generated from the feature registry:
 *   ts_ns,workload,hook,class,source,<every registered feature name, registry
 *   order>,label
 * Written into buf with no newline.  Returns its length or -ENOSPC.
 */
int fragml_csv_header(char *buf, size_t cap);

/* Number of columns of a dataset row (5 + registered features + 1). */
unsigned int fragml_csv_ncolumns(void);

struct fragml_csv {
	FILE *f;
	char path[256];
	char workload[64];
	unsigned int n_extra;		/* auxiliary columns after label */
	uint64_t rows;
};

/* Create `path` (truncate) and write the header.  `workload` is sanitised
 * (',' '"' and control characters become '_').  `extra_cols` (NULL or
 * "a,b") names auxiliary columns written after `label` (the trainer ignores
 * columns after label; docs/dataset.md lists them per hook). */
int fragml_csv_open(struct fragml_csv *w, const char *path, const char *workload,
		    const char *extra_cols, struct fragml_err *err);

/*
 * One row.  feat[] is indexed by feature id (FRAGML_MAX_FEATURES entries, the
 * struct fragml_vec layout); FRAGML_MISSING is written as an empty cell.  A
 * present value outside [FRAGML_FEAT_MIN, FRAGML_FEAT_MAX] is clamped (the
 * kernel side caps the same way).  `cls` and `source` are sanitised like the
 * workload.
 */
int fragml_csv_row(struct fragml_csv *w, uint64_t ts_ns, unsigned int hook, const char *cls,
		   const char *source, const int32_t *feat, unsigned int label,
		   const char *extra, struct fragml_err *err);

/* Flush and close; reports a write error that happened on any earlier row. */
int fragml_csv_close(struct fragml_csv *w, struct fragml_err *err);

/* ---- snapshots of memory state ---- */

#define FRAGML_MAX_ORDER_SNAP	11	/* orders 0..10 (NR_PAGE_ORDERS on x86-64) */
#define FRAGML_MAX_ZONES_SNAP	16
/* Migratetypes counted per pageblock: unmovable movable reclaimable highatomic cma isolate */
#define FRAGML_PB_NR_MT		6

struct fragml_zone_snap {
	int node;
	char zone[16];
	uint64_t nr_free[FRAGML_MAX_ORDER_SNAP];	/* /proc/buddyinfo */
	uint64_t free_pages;				/* sum nr_free[o] << o */
	uint64_t free_huge_blocks;			/* order >= 9, counted in 2 MB blocks */
	int32_t unusable_ppk;				/* unusable index at order 9, per 1024 */
	/* debugfs extfrag/unusable_index and extfrag/extfrag_index, per order, in
	 * thousandths as the kernel prints them (extfrag -1000: a block of that
	 * order is free); valid when have_index */
	bool have_index;
	int32_t unusable_index_pm[FRAGML_MAX_ORDER_SNAP];
	int32_t extfrag_index_pm[FRAGML_MAX_ORDER_SNAP];
};

#define FRAGML_MTHP_SIZES	12
#define FRAGML_MTHP_STATS	24
#define FRAGML_PAGETYPEINFO_MIN_NS	1000000000ull	/* at most one read per second */

struct fragml_snapshot {
	uint64_t ts_ns;			/* CLOCK_MONOTONIC, same clock as bpf_ktime_get_ns */
	unsigned int n_zones;
	struct fragml_zone_snap zones[FRAGML_MAX_ZONES_SNAP];
	/* /proc/vmstat */
	uint64_t thp_fault_alloc, thp_fault_fallback, thp_split_page;
	uint64_t compact_stall, compact_fail, compact_success;
	uint64_t compact_migrate_scanned, compact_free_scanned;
	/* /proc/pagetypeinfo block counts per migratetype (summed over zones),
	 * -1 when not read (not asked, rate limit) or the kernel lacks the type. */
	int64_t blocks_by_mt[FRAGML_PB_NR_MT];	/* unmovable movable reclaimable highatomic cma isolate */
	bool pagetypeinfo_rate_limited;	/* asked for, but read less than 1 s ago */
	/* debugfs: extfrag indices read (see zones[]); mounted by this call */
	bool have_extfrag_index, debugfs_mounted;
	/* mTHP: /sys/kernel/mm/transparent_hugepage/hugepages-<size>kB/stats/<every file> */
	unsigned int n_mthp;
	struct fragml_mthp_snap {
		uint32_t kb;
		uint64_t fault_alloc, fault_fallback;	/* anon_fault_{alloc,fallback} */
		unsigned int n;
		struct { char name[32]; uint64_t v; } st[FRAGML_MTHP_STATS];
	} mthp[FRAGML_MTHP_SIZES];
};

/*
 * Read buddyinfo, vmstat, mTHP stats, the debugfs extfrag indices (mounting
 * debugfs if needed: s->debugfs_mounted says so); pagetypeinfo only when
 * `with_pagetypeinfo`, and at most once per FRAGML_PAGETYPEINFO_MIN_NS per
 * process (it takes each zone lock).
 */
int fragml_snapshot_take(struct fragml_snapshot *s, bool with_pagetypeinfo,
			 struct fragml_err *err);

/*
 * /proc/pagetypeinfo "Number of blocks type" per migratetype, summed over
 * zones; -1 for a type the kernel lacks.  Not rate-limited: it takes each
 * zone lock, so callers keep it rare (fragml_snapshot_take does).
 */
int fragml_pagetypeinfo_blocks(int64_t blocks_by_mt[FRAGML_PB_NR_MT], struct fragml_err *err);

/* The parsers behind them, on any stream in the kernel's format (tests, fuzzing):
 * pagetypeinfo text (`what` names it in errors; -ERANGE for a negative count or
 * a sum beyond int64), and a debugfs extfrag/{unusable,extfrag}_index file
 * into the zones already in s (from buddyinfo). */
/* /proc/vmstat's values of `names` into out[i]; -1 for a name the kernel lacks. */
void fragml_vmstat_read(const char *const *names, size_t n, int64_t *out);
int fragml_pagetypeinfo_parse(FILE *f, const char *what, int64_t blocks_by_mt[FRAGML_PB_NR_MT],
			      struct fragml_err *err);
void fragml_index_parse(FILE *f, struct fragml_snapshot *s, int extfrag);
/* /proc/buddyinfo text: appends its zones to s (up to FRAGML_MAX_ZONES_SNAP). */
void fragml_buddyinfo_parse(FILE *f, struct fragml_snapshot *s);

/* Unusable free space index at `order` for one zone, per 1024 (kernel's
 * unusable_free_index() * 1024 / 1000 scale). */
int32_t fragml_unusable_ppk(const uint64_t *nr_free, unsigned int order);

/* Whole-system figures: zone with most free pages gives the "main" zone. */
const struct fragml_zone_snap *fragml_snapshot_main_zone(const struct fragml_snapshot *s);

/* One JSON object (no newline) describing the snapshot. */
int fragml_snapshot_json(const struct fragml_snapshot *s, FILE *out);

/* Mount debugfs/tracefs/bpffs where missing.  *mounted receives a bitmask of
 * what this call mounted (1 debugfs, 2 tracefs, 4 bpffs) so callers can say so. */
#define FRAGML_MNT_DEBUGFS	1
#define FRAGML_MNT_TRACEFS	2
#define FRAGML_MNT_BPFFS	4
int fragml_mount_fs(unsigned int want, unsigned int *mounted, struct fragml_err *err);

/* ---- per-pageblock scan (docs/identification.md, "Pageblock scan") ---- */

#define FRAGML_PAGEBLOCK_ORDER	9

struct fragml_pageblock_scan {
	uint64_t sections, blocks;			/* pageblocks with at least one page */
	uint64_t skipped_blocks;			/* memmap never initialised (not managed) */
	uint64_t blocks_by_mt[FRAGML_PB_NR_MT];		/* by the block's migratetype (its pageblock bits) */
	uint64_t mixed;					/* blocks holding a page of the wrong mobility */
	uint64_t mixed_by_mt[FRAGML_PB_NR_MT];
	uint64_t mixed_by_class[FRAGML_NR_CLASSES];	/* mixed blocks where the class has a wrong page */
	uint64_t wrong_pages_by_class[FRAGML_NR_CLASSES];
	uint64_t pages_by_class[FRAGML_NR_CLASSES];	/* classed pages seen, right or wrong */
	uint64_t tracked_pages;				/* pages classed from the tracking map */
	uint64_t tracked_freed;				/* tracked, found free, freed during the scan (entries) */
	uint64_t tracked_stale_pages;			/* tracked, found free, still in the map after
							 * the scan: a free the programs missed */
	uint64_t vmemmap;				/* struct page * of pfn 0 (VMCOREINFO) */
	unsigned int nr_pageblock_bits;
	double elapsed_s;
};

/*
 * Scan every pageblock: migratetype from the kernel's pageblock bits (found
 * through VMCOREINFO + BTF, read by a `syscall` BPF program), pages classed by
 * the tracking map `live_fd` (a fragml_live map, or -1) and /proc/kpageflags.
 * Needs root.  Errors name what the kernel lacks.
 */
int fragml_pageblock_scan(struct fragml_pageblock_scan *s, int live_fd, struct fragml_err *err);
int fragml_pageblock_json(const struct fragml_pageblock_scan *s, FILE *out);

/* ---- the collector ---- */

struct fragml_collect_opts {
	const char *outdir;		/* lifetime.csv, thp_fault.csv, compaction.csv, events.json */
	const char *workload;		/* workload id column */
	double duration_s;		/* 0: until fragml_collect_stop() */
	unsigned int sample;		/* track 1 in `sample` unmovable/reclaimable allocs (1 = all) */
	double lifetime_T_s;		/* lifetime label threshold T */
	double thp_min_life_s;		/* THP label: region lived at least this long */
	unsigned int thp_dense_ppk;	/* THP label: touched share >= this (per 1024) */
	uint32_t target_tgid;		/* 0: all processes; else only this process (--pid) */
	const char *cgroup;		/* NULL: all; else a memory-cgroup directory (v1 memory
					 * hierarchy or v2): tasks in it or below (--cgroup) */
	unsigned int ringbuf_kb;	/* ring buffer size (power of two, KiB); 0: RAM / 256, 1..16 MiB */
	bool stacks;			/* record kernel stacks of tracked allocations: summary.json "stacks" */
	unsigned int stacks_top;	/* call stacks per source in summary.json (default 5) */
	bool quiet;
	void (*progress)(const char *line, void *ctx);	/* ~1/s; may be NULL */
	void *progress_ctx;
};

void fragml_collect_opts_default(struct fragml_collect_opts *o);

struct fragml_collect_stats {
	uint64_t events;		/* ring-buffer records consumed */
	uint64_t lost;			/* records the BPF side could not reserve */
	uint64_t allocs, frees_matched, extfrag, faults, regions, compactions;
	uint64_t rows[FRAGML_NR_HOOKS];	/* CSV rows written per hook */
	uint64_t censored;		/* tracked allocs younger than T at the end (no label) */
	uint64_t slab_named;		/* slab pages whose cache name was resolved */
	uint64_t needs;			/* need moments of the pollutes label (docs/dataset.md) */
	double elapsed_s;
	uint64_t kernel_bytes;		/* memlock of the collector's maps and programs (kernel) */
	/* the ring buffer and its reader (not in summary.json) */
	uint64_t ring_bytes;		/* its size */
	uint64_t ring_peak_bytes;	/* most records waiting when the reader came to drain it */
	uint64_t ring_wakeups;		/* drains the BPF side asked for (ring past 1/8 full) */
	double reader_cpu_s;		/* CPU time of the collecting thread */
};

struct fragml_collector;

/* Open, load and attach the collection programs.  Mounts tracefs/debugfs if
 * missing (reported through o->progress). */
int fragml_collect_open(struct fragml_collector **c, const struct fragml_collect_opts *o,
			struct fragml_err *err);
/* Run until the duration elapsed or fragml_collect_stop(); writes the CSVs. */
int fragml_collect_run(struct fragml_collector *c, struct fragml_collect_stats *st,
		       struct fragml_err *err);
/* Async-signal-safe. */
void fragml_collect_stop(struct fragml_collector *c);
void fragml_collect_close(struct fragml_collector *c);

/* Per-(tgid, cache) slab object counts seen so far (test and `top` helper):
 * objects allocated by `tgid` from caches whose name contains `substr`. */
uint64_t fragml_collect_slab_objs(struct fragml_collector *c, uint32_t tgid, const char *substr);
/* The collector's tracking map (fragml_live), for fragml_pageblock_scan(). */
int fragml_collect_live_fd(struct fragml_collector *c);
/* Extfrag events attributed to `tgid` so far. */
uint64_t fragml_collect_extfrag_of(struct fragml_collector *c, uint32_t tgid);

/* ---- the fallback gate's training data (fragml-collect --gate) ---- */

/*
 * Needs the patched kernel with a fallback model published (the fragml_gate
 * policy attached: fragml-load MODEL.bin).  Turns on the gate's exploration
 * and decision log (fragml_gate_cfg), loads the outcome tracer
 * (bpf/fragml_gatelog.bpf.c), joins decisions and outcomes by sequence
 * number and writes DIR/fallback.csv (deferred decisions, labelled),
 * DIR/fallback_now.csv (decisions to fall back at once: outcome only) and
 * DIR/gate_summary.json (docs/dataset.md "fallback").  Exploration and the
 * log are turned off again when the run ends, and by close.
 */
struct fragml_gate_collect_opts {
	const char *outdir;
	const char *workload;
	double duration_s;		/* 0: until fragml_gate_collect_stop() */
	uint32_t explore_ppm;		/* random action for this many per 10^6 decisions */
	uint32_t explore_action;	/* ... drawn between now and this (enum
					 * fragml_fallback_action; 0 = defer) */
	bool log_all;			/* log decisions the kernel cannot defer too */
	void (*progress)(const char *line, void *ctx);	/* ~1/s; may be NULL */
	void *progress_ctx;
};

struct fragml_gate_collect_stats {
	uint64_t decisions;		/* decision records read */
	uint64_t outcomes;		/* outcome records read */
	uint64_t rows_defer, rows_now;	/* rows of fallback.csv / fallback_now.csv */
	uint64_t open;			/* decisions whose outcome never came (lost close) */
	uint64_t orphan_outcomes;	/* outcomes without their decision */
	uint64_t lost_decisions;	/* ring full on the policy side */
	uint64_t lost_outcomes;		/* ring full on the tracer side */
	uint64_t pending_failed;	/* decisions the policy could not leave open */
	double elapsed_s;
};

struct fragml_gate_collector;

int fragml_gate_collect_open(struct fragml_gate_collector **c,
			     const struct fragml_gate_collect_opts *o, struct fragml_err *err);
int fragml_gate_collect_run(struct fragml_gate_collector *c, struct fragml_gate_collect_stats *st,
			    struct fragml_err *err);
/* Async-signal-safe. */
void fragml_gate_collect_stop(struct fragml_gate_collector *c);
void fragml_gate_collect_close(struct fragml_gate_collector *c);

#ifdef __cplusplus
}
#endif
#endif /* FRAGML_COLLECT_H */
