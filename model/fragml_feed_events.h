/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Ring-buffer record of the identification feed (the tracking core in its feed
 * mode, bpf/fragml_track.bpf.h, loaded as bpf/fragml_feed.bpf.c ->
 * loader/feed_serve.c).  The publisher turns each one into the public,
 * versioned socket record of loader/fragml_feed.h (docs/feed.md).
 * Fixed-width types only; userspace includes <linux/types.h> first.
 */
#ifndef FRAGML_FEED_EVENTS_H
#define FRAGML_FEED_EVENTS_H

#include "fragml_alloc_flags.h"

struct fragml_feed_ev {
	__u64 ts;		/* bpf_ktime_get_ns() */
	__u64 pfn;
	__u64 cgroup;
	__s64 score;		/* model score (Q.16) */
	__u32 tgid;		/* 0: kernel thread */
	__u32 model_version;	/* 0: no lifetime model loaded */
	__u32 weight;		/* allocations this record stands for (sampling) */
	__u8 cls;		/* enum fragml_alloc_class */
	__u8 action;		/* lifetime action (1 = long-lived) */
	__u8 flags;		/* FRAGML_ALLOC_F_* */
	__u8 order;
	__s8 mt;		/* migratetype requested */
	__s8 block_mt;		/* migratetype of the pageblock the page came from */
	__u8 pad[6];
	char comm[16];
	char slab[32];		/* slab cache name, class slab only (may be empty) */
};

#endif /* FRAGML_FEED_EVENTS_H */
