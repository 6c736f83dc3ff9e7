/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Counters of alloc_events.bpf.c, shared with gate_test.c. */
#ifndef FRAGML_ALLOC_EVENTS_H
#define FRAGML_ALLOC_EVENTS_H

enum alloc_event {
	ALLOC_EV_FALLBACK,			/* mm_page_alloc_extfrag */
	ALLOC_EV_FALLBACK_MIXING,		/* ... the block kept its type */
	ALLOC_EV_FALLBACK_MIXING_UNMOVABLE,	/* ... for a non-movable request */
	ALLOC_EV_BLOCKS_MIXED,			/* distinct pageblocks a mixing fallback hit */
	ALLOC_EV_FAILED,			/* page allocation returned NULL */
	ALLOC_EV_FAILED_ATOMIC,			/* ... without direct reclaim */
	ALLOC_EV_FAILED_ATOMIC_WARN,		/* ... that expected success (no __GFP_NOWARN) */
	ALLOC_EV_BLOCKS_POLLUTED,		/* distinct pageblocks a non-movable fallback
						 * took pages from, claimed or not */
	ALLOC_EV_FALLBACK_CLAIMED_UNMOVABLE,	/* non-movable fallbacks that claimed a block in use
						 * (fallback order < pageblock order) */
	ALLOC_EV_NR,
};

#endif /* FRAGML_ALLOC_EVENTS_H */
