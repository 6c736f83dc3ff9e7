/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The fallback gate's exploration and decision log (bpf/fragml_policy.bpf.c)
 * and the outcome tracer (bpf/fragml_gatelog.bpf.c), read by
 * `fragml-collect --gate` (loader/gatelog.c).  Fixed-width types only;
 * userspace includes <linux/types.h> first.
 *
 * Maps pinned by name in /sys/fs/bpf/fragml (created by the policy object):
 *   fragml_gate_cfg      array[1] of struct fragml_gate_cfg: explore, log, seq
 *   fragml_gate_log      ring buffer of struct fragml_gate_decision
 *   fragml_gate_pending  hash pid -> struct fragml_gate_pending: the decision
 *                        an allocation in that task is waiting on; the
 *                        tracer marks what followed and closes it
 */
#ifndef FRAGML_GATE_EVENTS_H
#define FRAGML_GATE_EVENTS_H

#include "fragml_abi.h"
#include "fragml_alloc_flags.h"

#define FRAGML_GATE_NFEAT	16	/* feature slots in a decision record */
#define FRAGML_GATE_LOG_BYTES	(256 * 1024)	/* decision ring buffer */
#define FRAGML_GATE_PENDING_MAX	1024	/* tasks with an open decision (LRU) */
/* their sizes while no collector logs (loader/policy.c) */
#define FRAGML_GATE_LOG_IDLE_BYTES	4096
#define FRAGML_GATE_PENDING_IDLE	64
#define FRAGML_GATE_PPM		1000000u	/* explore_ppm scale */

/* The outcome tracer's counters (fragml_gate_stats, an array indexed by these) */
enum fragml_gatelog_stat {
	FRAGML_GATELOG_LOST	= 0,	/* outcomes lost: ring full */
	FRAGML_GATELOG_CLOSED	= 1,	/* decisions closed by their allocation */
	FRAGML_GATELOG_NESTED	= 2,	/* events ignored: the task was reclaiming (PF_MEMALLOC) */
	FRAGML_GATELOG_NR_STATS,
};

/* fragml_gate_cfg.log */
enum fragml_gate_log_mode {
	FRAGML_GATE_LOG_OFF	= 0,
	FRAGML_GATE_LOG_HONOURED = 1,	/* decisions the kernel may honour (can_defer) */
	FRAGML_GATE_LOG_ALL	= 2,	/* every decision, atomic and interrupt ones too */
};

struct fragml_gate_cfg {
	__u32 explore_ppm;	/* this many per million honourable decisions take a random action */
	__u32 log;		/* enum fragml_gate_log_mode */
	__u64 seq;		/* sequence number of the last logged decision */
	__u64 lost;		/* decisions not logged: ring buffer full */
	__u64 pending_full;	/* decisions logged but not tracked: pending update failed */
	__u32 explore_action;	/* the waiting action exploration draws against now:
				 * FRAGML_FALLBACK_DEFER (also 0) or _COMPACT */
	__u32 pad;
};

/* Decision flags, above the allocation flags (FRAGML_ALLOC_F_KTHREAD is used too). */
#define FRAGML_GATE_F_EXPLORED	0x10	/* the action was drawn at random */
#define FRAGML_GATE_F_CAN_DEFER	0x20	/* the kernel honours a deferral */
#define FRAGML_GATE_F_PENDING	0x40	/* tracked: an outcome record will follow */

/* One gate decision.  f[] holds the fallback hook's features in registry order. */
struct fragml_gate_decision {
	__u64 seq;
	__u64 ts;		/* bpf_ktime_get_ns() */
	__u32 pid;		/* 0 in interrupt context */
	__u32 gfp;
	__u32 order;
	__s32 mt;		/* requested migratetype */
	__u32 model_version;	/* 0: no fallback model loaded */
	__u8 action;		/* what the policy returned: 0 now, 1 defer, 2 compact */
	__u8 model_action;	/* what the model said (0xff: no model) */
	__u8 flags;		/* FRAGML_GATE_F_*, FRAGML_ALLOC_F_KTHREAD */
	__u8 zone_idx;
	__s32 f[FRAGML_GATE_NFEAT];
};

/* An open decision: written by the policy, updated and closed by the tracer. */
struct fragml_gate_pending {
	__u64 seq;
	__u64 ts;
	__u64 reclaimed;	/* pages direct reclaim freed for this task meanwhile */
	__u32 gfp;
	__u32 order;
	__s32 mt;
	__u32 action;
	__u32 extfrag;		/* fallbacks of this allocation */
	__u32 mixing;		/* ... that left the pageblock's type unchanged */
};

/* What followed a decision, emitted when its allocation returned. */
struct fragml_gate_outcome {
	__u64 seq;
	__u64 dt_ns;		/* decision .. the allocation returned */
	__u64 reclaimed;
	__u32 pid;
	__u32 extfrag;
	__u32 mixing;
	__u32 failed;		/* the allocation returned no page */
};

#endif /* FRAGML_GATE_EVENTS_H */
