/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Inside the collection stage, between its files:
 *   collect.c          opening, the ring-buffer loop, closing, queries (fragml_collect.h)
 *   collect_label.c    ring-buffer records -> matched, labelled dataset rows
 *   collect_summary.c  summary.json (json-c)
 * Not installed.
 */
#ifndef FRAGML_COLLECT_INTERNAL_H
#define FRAGML_COLLECT_INTERNAL_H

#include <signal.h>
#include <stddef.h>
#include <linux/types.h>

#include "fragml_collect.h"
#include "fragml_collect_events.h"
#include "u64map.h"

struct alloc_rec {
	uint64_t ts, page;
	uint64_t site;		/* 0: none */
	uint32_t tgid, order, cls, flags;
	int32_t mt, block_mt;
	int mixing;		/* taken from a movable pageblock the fallback left movable */
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
	uint32_t next_live;	/* index + 1 of the process's previous live region; 0: none */
	int has_vec, huge, dead;
	uint64_t bits[8];
	char comm[16];
	int32_t f[FRAGML_MAX_FEATURES];
};

struct fragml_collector {
	struct fragml_collect_opts o;
	struct fragml_collect *skel;
	struct ring_buffer *rb;
	int epoll_fd;		/* the ring's map fd, edge-triggered (collect.c) */
	struct fragml_csv csv[FRAGML_NR_HOOKS];
	struct u64map allocs_by_page, regions_by_key, stacks_by_key;
	/* per process: its newest live region (chained by next_live), so that
	 * an exit marks its regions without a scan of all of them */
	struct u64map live_regions_by_tgid;
	struct stack_agg *stacks;
	size_t n_stacks, cap_stacks;
	struct alloc_rec *allocs;
	size_t n_allocs, cap_allocs;
	uint32_t *free_slots;
	size_t n_free_slots;
	struct region_rec *regions;
	size_t n_regions, cap_regions;
	uint64_t *needs;	/* need moments (ns), ascending */
	size_t n_needs, cap_needs;
	struct fragml_collect_stats st;
	struct fragml_err *err;	/* of the running call */
	int failed;
	uint64_t vmemmap_base;
	uint64_t t_start;
	volatile sig_atomic_t stop;
	struct fragml_snapshot before, after;
};

/* Dataset "source" of a record: slab:CACHE:COMM:TGID, kthread:COMM or COMM:TGID. */
void collect_make_source(char *dst, size_t cap, uint32_t tgid, const char *comm, uint32_t flags,
			 const char *slab);
/* ring_buffer__new() callback: one record of bpf/fragml_collect.bpf.c. */
int collect_on_event(void *ctx, void *data, size_t len);
/* At the end: rows of the tracked allocations and regions still open at `end`. */
void collect_finish_allocs(struct fragml_collector *c, uint64_t end);
void collect_finish_regions(struct fragml_collector *c, uint64_t end);
int collect_write_summary(struct fragml_collector *c, struct fragml_err *err);
/* The reader's lookup tables, sized for a run (full) or tiny (records fed by
 * hand, tests); _free releases them and the record arrays, not c itself. */
int collect_tables_init(struct fragml_collector *c, bool full);
void collect_tables_free(struct fragml_collector *c);
/* Kernel memory of the collector's maps and programs, as the kernel accounts it. */
uint64_t collect_kernel_bytes(struct fragml_collector *c);

#endif /* FRAGML_COLLECT_INTERNAL_H */
