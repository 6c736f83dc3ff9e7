/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * libfragml, identification stage: who fragments memory now.  Reads the
 * per-source maps the observe programs pin under /sys/fs/bpf/fragml
 * (bpf/fragml_track.bpf.h), ranks sources, and renders them as a table, JSON
 * or a Prometheus textfile.  Also fills the call-site table that classes
 * unmovable allocations (docs/identification.md).
 *
 * Errors follow fragml_error.h.
 */
#ifndef FRAGML_IDENTIFY_H
#define FRAGML_IDENTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fragml_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Resolve the allocation call sites (allocate_slab, __pte_alloc, ...) in
 * /proc/kallsyms and write them into a `fragml_sites` map (fd).  Returns the
 * number of sites written (missing symbols are skipped: inlined on this build).
 */
int fragml_sites_fill(int map_fd, struct fragml_err *err);

/*
 * The kernel addresses the tracking core's site identity needs, to set in a
 * program object's .rodata (fragml_ksym_text, fragml_ksym_alloc_entry)
 * before its load.  Both come from the same single pass over /proc/kallsyms
 * as the call sites (one per process).  0 where the kernel has no such symbol.
 */
struct fragml_kaddrs {
	uint64_t text;		/* _text */
	uint64_t alloc_entry;	/* __alloc_frozen_pages_noprof, or __alloc_pages_noprof before 6.15 */
};
int fragml_kaddrs(struct fragml_kaddrs *out, struct fragml_err *err);

/* Kernel text symbols (/proc/kallsyms 't'/'T'), sorted, for symbolising stacks. */
struct fragml_ksyms;
struct fragml_ksyms *fragml_ksyms_load(struct fragml_err *err);
void fragml_ksyms_free(struct fragml_ksyms *ks);
/* "func+0xoff" (or "0x<addr>" outside kernel text) into buf; returns snprintf's length. */
int fragml_ksym_format(const struct fragml_ksyms *ks, uint64_t addr, char *buf, size_t cap);

struct fragml_source {
	uint32_t tgid;
	uint32_t cls;			/* enum fragml_alloc_class */
	char comm[16];
	char name[48];			/* "comm:tgid", "kthread:comm" or "slab:<cache>" */
	uint64_t cgroup;		/* cgroup v2 id of the allocating task (0: none) */
	char cgroup_path[96];		/* its path below the cgroup2 mount ("/a/b"), "" if not found */
	uint64_t pages, extfrag, extfrag_claim, decided, predicted_long, thp_faults;
	int64_t blocks_polluted, huge_blocked;
	double pages_per_s;		/* between two reads (0 on the first) */
	double extfrag_per_s;
	uint64_t slab_objs;		/* slab rows only */
	uint64_t slab_pages;
	/*
	 * The lifetime model judged on the source's followed pages whose fate
	 * is known: freed (counted by the kernel at the free) or still alive
	 * after T (counted by fragml_ident_read() in the live-page map).  Index
	 * FRAGML_FATE(predicted long, lived >= T).  All 0 without a lifetime
	 * model or without tracking.
	 */
	uint64_t fate[4];
};

/* A row of slab-cache objects ("slab:<cache>", from fragml_src_slab) rather
 * than pages of a (task, class) source from fragml_src. */
bool fragml_source_is_slab_cache(const struct fragml_source *s);
/* Precision and recall of "long-lived" for one source; < 0 where undefined
 * (nothing predicted long, or nothing lived long). */
double fragml_source_precision(const struct fragml_source *s);
double fragml_source_recall(const struct fragml_source *s);

struct fragml_ident {
	unsigned int n;
	struct fragml_source *src;	/* ranked: huge_blocked, blocks_polluted, predicted_long, extfrag, pages */
	uint64_t stats[8];		/* enum fragml_stat, summed over CPUs */
	uint64_t ts_ns;
};

/* Read and rank the sources from the maps pinned in `dir` (NULL: /sys/fs/bpf/fragml),
 * with the fates of the pages still alive (fragml_live, pinned with --identify)
 * added to fate[].  `prev` (may be NULL) gives rates.  Free with fragml_ident_free(). */
int fragml_ident_read(struct fragml_ident *id, const char *dir, const struct fragml_ident *prev,
		      struct fragml_err *err);
/* Same from map fds (the collector's own maps). */
int fragml_ident_read_fds(struct fragml_ident *id, int src_fd, int slab_fd, int stats_fd,
			  const struct fragml_ident *prev, struct fragml_err *err);
void fragml_ident_free(struct fragml_ident *id);
/* Add the followed pages alive for at least `T_ns` (live-page map `live_fd`)
 * to their source's fate[] (by their prediction).  Returns how many were added. */
long fragml_ident_judge_alive(struct fragml_ident *id, int live_fd, uint64_t T_ns,
			      struct fragml_err *err);

/* Renderers; `limit` rows (0 = all). */
void fragml_ident_table(const struct fragml_ident *id, FILE *out, unsigned int limit);
int fragml_ident_json(const struct fragml_ident *id, FILE *out, unsigned int limit);
/* Prometheus text exposition (node_exporter textfile collector format). */
int fragml_ident_prometheus(const struct fragml_ident *id, FILE *out, unsigned int limit);

#ifdef __cplusplus
}
#endif
#endif /* FRAGML_IDENTIFY_H */
